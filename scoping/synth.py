"""`scoping synth`: a synthetic breach world, its logs, its reference tables, its truth and a ready case.

The truth (`DIR/truth/`) is computed here from the attacker's own events, independently of the
scoping engine, so the engine can be tested against it. See data/README.md for every file written.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from .errors import ConfigError
from .private import private_files, tighten
from .synth_activity import CODES, Activity
from .synth_logs import CSV_HEADER, RotatingLog, api_lines, gateway_rotations, web_lines, web_rotations
from .synth_world import (
    ATTACK_NET_1,
    ATTACK_NET_2,
    BREACH_START,
    SHUTDOWN,
    Scenario,
    World,
    baseline_start,
    build_world,
    scenario_for,
)

FORMATS = ("csv", "jsonl", "fhir")


@dataclass(frozen=True)
class SynthOptions:
    scale: float = 1.0
    seed: int = 7
    formats: tuple[str, ...] = ("csv", "jsonl")
    dirt_rate: float = 1 / 3000
    scenario: Scenario | None = None
    days: int = 28  # days of normal work before the breach (ignored when a scenario is given)


@dataclass
class SynthResult:
    folder: Path
    world: World
    events: int
    files: list[dict[str, object]] = field(default_factory=list)
    truth: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        t = self.truth
        return (f"synthetic world in {self.folder}: {self.events:,} events, "
                f"{self.world.accounts.height:,} accounts, {self.world.patients['patient_id'].n_unique():,} patients "
                f"in {self.world.practices.height:,} practices\n"
                f"truth: {t['affected_patients']:,} affected patients ({t['affected_rows']:,} patient×practice rows), "
                f"{t['attempted_patients']:,} attempted only, {t['compromised_accounts']} compromised accounts")


def _iso_s(col: str) -> pl.Expr:
    """An instant as every output writes it: to the second, with the sub-second digits when there are any."""
    t = pl.from_epoch(pl.col(col), time_unit="us")
    frac = (pl.col(col) % 1_000_000).cast(pl.String).str.zfill(6).str.strip_chars_end("0")
    return (t.dt.strftime("%Y-%m-%dT%H:%M:%S")
            + pl.when(frac == "").then(pl.lit("")).otherwise(pl.lit(".") + frac) + pl.lit("+00:00"))


MIN_DAYS, MAX_DAYS = 28, 3650


SYNTH_MARK = "# A synthetic breach world written by `scoping synth"


def _check_folder(folder: Path) -> None:
    """A world is written into a new or empty folder, or over an earlier synthetic world: never over a real case
    (its logs/ and reference/ are evidence)."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ConfigError(f"{folder} exists and is not a folder", hint="choose another folder for the world")
    if not any(folder.iterdir()):
        return
    toml = folder / "case.toml"
    try:
        ours = toml.read_text(encoding="utf-8").startswith(SYNTH_MARK) and (folder / "truth").is_dir()
    except (OSError, UnicodeDecodeError):
        ours = False
    if not ours:
        raise ConfigError(f"{folder} is not empty and holds no synthetic world: scoping will not write a world over it",
                          hint="choose a new or empty folder (a world replaces logs/, reference/, the store and out/)")


def _check_options(opts: SynthOptions) -> None:
    if not math.isfinite(opts.scale) or not 0 < opts.scale <= 10_000:
        raise ConfigError(f"scale {opts.scale!r} is not a size of world", hint="give a number above 0, e.g. 1 or 0.3")
    if not 0 <= opts.seed < 2**63:
        raise ConfigError(f"seed {opts.seed!r} is not allowed", hint="give a whole number from 0 up")
    if not MIN_DAYS <= opts.days <= MAX_DAYS:
        raise ConfigError(f"days {opts.days!r}: a world has {MIN_DAYS} to {MAX_DAYS} days of normal work before "
                          f"the breach", hint=f"give a whole number from {MIN_DAYS} (four weeks: the decoys' nights "
                                              f"and the change of clocks of 26 October need them)")


def synthesize(folder: Path, opts: SynthOptions | None = None) -> SynthResult:
    """Write a synthetic breach world into `folder` (files 0600, folders 0700: it is shaped like real evidence)."""
    _check_options(opts or SynthOptions())
    _check_folder(folder)
    with private_files():
        result = _synthesize(folder, opts or SynthOptions())
    tighten(folder)
    return result


def _synthesize(folder: Path, opts: SynthOptions) -> SynthResult:
    bad = [f for f in opts.formats if f not in FORMATS]
    if bad or not opts.formats:
        raise ConfigError(f"unknown synth format(s): {', '.join(bad) or 'none given'}",
                          hint=f"use a comma-separated list of {', '.join(FORMATS)}")
    sc = opts.scenario or scenario_for(opts.scale, opts.days)
    rng = np.random.default_rng(opts.seed)
    world = build_world(sc, rng)
    for sub in ("logs", "reference", "truth"):
        if (folder / sub).exists():
            shutil.rmtree(folder / sub)
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for stale in ("case.duckdb", "case.duckdb.wal"):
        (folder / stale).unlink(missing_ok=True)
    if (folder / "out").exists():
        shutil.rmtree(folder / "out")
    activity = Activity(world, sc, opts.seed)
    logs = folder / "logs"
    channels = _channels(opts.formats)
    writers = {}
    dirt_rng = np.random.default_rng([opts.seed, 7])
    if "csv" in channels.values():
        writers["csv"] = RotatingLog(logs, web_rotations(baseline_start(sc)),
                                     gz=False, header=CSV_HEADER, rng=dirt_rng, dirt_rate=opts.dirt_rate)
    if "jsonl" in channels.values():
        writers["jsonl"] = RotatingLog(logs, gateway_rotations(baseline_start(sc)),
                                       gz=True, header=None, rng=dirt_rng, dirt_rate=opts.dirt_rate)
    fhir_writer = None
    if "fhir" in channels.values():
        from .synth_fhir import FhirWriter

        fhir_writer = FhirWriter(logs / "audit-events.ndjson.gz")
    attacker_frames = []
    replay_owner_frames = []   # the owner's own requests in the replayed session (their address, for the truth)
    n_events = 0
    counters = {"csv": 1, "jsonl": 1}
    for day in activity.stream():
        n_events += day.height
        attacker_frames.append(day.filter(pl.col("attacker")))
        replay_owner_frames.append(day.filter(pl.col("kind") == "owner_replayed_session"))
        day_us = int(day["ts_us"].to_numpy().min())
        for channel, fmt in channels.items():
            part = day.filter(pl.col("channel") == channel)
            if not part.height:
                continue
            if fmt == "csv":
                lines, ambiguous = web_lines(part, counters["csv"])
                counters["csv"] += part.height
                writers["csv"].write(day_us, lines, ambiguous)
            elif fmt == "jsonl":
                lines = api_lines(part, counters["jsonl"])
                counters["jsonl"] += part.height
                writers["jsonl"].write(day_us, lines)
            elif fhir_writer is not None:
                fhir_writer.write(part)
    for w in writers.values():
        w.close()
    files = [s.__dict__ for w in writers.values() for s in w.stats]
    if fhir_writer is not None:
        files.append(fhir_writer.close())
    attacks = pl.concat(attacker_frames) if attacker_frames else pl.DataFrame()
    replay_owner = pl.concat(replay_owner_frames) if replay_owner_frames else pl.DataFrame()
    truth = _write_truth(folder, world, attacks, replay_owner, files, channels)
    _write_reference(folder, world)
    _write_case(folder, world, opts, channels)
    return SynthResult(folder=folder, world=world, events=n_events, files=files, truth=truth)


def _channels(formats: tuple[str, ...]) -> dict[str, str]:
    """Which log format each channel is written in: the web application and the API. One format: both channels;
    two: the web application in CSV (else JSON lines), the API in the other one (FHIR when it is asked for)."""
    chosen = set(formats)
    if len(chosen) == 1:
        only = next(iter(chosen))
        return {"web": only, "api": only}
    if len(chosen) > 2:
        raise ConfigError(f"--formats {','.join(formats)}: a world has two channels (the web application and the API), "
                          f"so at most two formats", hint="e.g. --formats csv,jsonl or --formats csv,fhir")
    web = "csv" if "csv" in chosen else "jsonl"
    return {"web": web, "api": next(iter(chosen - {web}))}


def _write_truth(folder: Path, world: World, attacks: pl.DataFrame, replay_owner: pl.DataFrame,
                 files: list[dict[str, object]], channels: dict[str, str]) -> dict[str, int]:
    t = folder / "truth"
    if attacks.height:  # the instant as the log writes it: the CSV export keeps whole seconds, the others milliseconds
        to_seconds = [c for c, fmt in channels.items() if fmt == "csv"]
        attacks = attacks.with_columns(pl.when(pl.col("channel").is_in(to_seconds))
                                       .then(pl.col("ts_us") // 1_000_000 * 1_000_000).otherwise(pl.col("ts_us"))
                                       .alias("ts_us"))
    actions = [c[1] for c in CODES]
    cats = [c[2] for c in CODES]
    acc = (attacks.with_columns(
        pl.col("code").replace_strict(list(range(len(CODES))), actions, return_dtype=pl.String).alias("action"),
        pl.col("code").replace_strict(list(range(len(CODES))), cats, return_dtype=pl.String).alias("category"))
        .explode("patients").rename({"patients": "patient_id"})
        .filter(pl.col("patient_id").is_not_null() & ~pl.col("action").is_in(["login", "login_failed", "logout"])))
    level = (pl.when(pl.col("action").is_in(["search", "list"])).then(1)
             .when(pl.col("action").is_in(["download", "print", "export", "share"])).then(3).otherwise(2))
    reached = acc.filter(pl.col("outcome") == "success").with_columns(level.alias("level"))
    per_patient = reached.group_by("patient_id").agg(
        pl.col("level").max().replace_strict({1: "listed", 2: "opened", 3: "copied"}, return_dtype=pl.String)
        .alias("exposure"),
        pl.col("action").is_in(["create", "update", "delete"]).any().alias("modified"),
        pl.col("action").unique().sort().str.join("|").alias("actions"),
        pl.col("category").unique().sort().str.join("|").alias("categories"),
        pl.col("ts_us").min().alias("first"), pl.col("ts_us").max().alias("last"),
        pl.col("account_id").unique().sort().str.join("|").alias("accounts"),
    )
    affected = (per_patient.join(world.patients, on="patient_id", how="left")
                .select("practice_id", "patient_id", "exposure", "modified", "actions", "categories",
                        _iso_s("first").alias("first_access_utc"), _iso_s("last").alias("last_access_utc"), "accounts")
                .sort("practice_id", "patient_id"))
    affected.write_csv(t / "affected_patients.csv")
    attempted_ids = acc.select("patient_id").unique().join(per_patient.select("patient_id"), on="patient_id",
                                                           how="anti")
    attempted = (attempted_ids.join(world.patients, on="patient_id", how="left")
                 .select("practice_id", "patient_id").sort("practice_id", "patient_id"))
    attempted.write_csv(t / "attempted_patients.csv")
    compromised = pl.DataFrame({
        "account_id": _compromised(world),
        "how": ["departed, never disabled"] + ["password spraying take-over"] * len(world.takeovers)
        + ["session cookie stolen and replayed"] * (world.replayed is not None),
    }).with_columns(pl.col("account_id").is_in([world.interleaved, world.replayed]).alias("owner_active_during_breach"))
    compromised.write_csv(t / "compromised_accounts.csv")
    # session_id is the log's own session id where the channel's log writes one (JSON lines, FHIR); owner_ip
    # is, for a replayed session, the address its owner worked from in that same session
    logged = [c for c, fmt in channels.items() if fmt in ("jsonl", "fhir")]
    owner_ips = (replay_owner.group_by("account_id", "session").agg(pl.col("ip").unique().sort().str.join("|")
                                                                    .alias("owner_ip"))
                 if replay_owner.height else pl.DataFrame(schema={"account_id": pl.String, "session": pl.String,
                                                                  "owner_ip": pl.String}))
    sessions = (attacks.group_by("account_id", "session", "channel", "ip", "ua", "kind")
                .agg(pl.col("ts_us").min().alias("s"), pl.col("ts_us").max().alias("e"), pl.len().alias("events"))
                .join(owner_ips, on=["account_id", "session"], how="left")
                .select("account_id", "channel",
                        pl.when(pl.col("channel").is_in(logged)).then(pl.col("session")).alias("session_id"),
                        "ip", pl.col("ua").alias("user_agent"),
                        _iso_s("s").alias("start_utc"), _iso_s("e").alias("end_utc"), "events", "kind", "owner_ip")
                .sort("account_id", "start_utc", "ip"))
    sessions.write_csv(t / "attacker_sessions.csv")
    pl.DataFrame({"account_id": list(world.decoys), "kind": list(world.decoys.values())}).sort("account_id") \
        .write_csv(t / "decoys.csv")
    summary = {
        "affected_patients": affected["patient_id"].n_unique(),
        "affected_rows": affected.height,
        "attempted_patients": attempted["patient_id"].n_unique(),
        "compromised_accounts": compromised.height,
        "attacker_events": attacks.height,
    }
    (t / "counts.json").write_text(json.dumps({"summary": summary, "files": files}, indent=2, sort_keys=True) + "\n")
    return summary


def _compromised(world: World) -> list[str]:
    """The incident's compromised accounts: the departed doctor's, the take-overs, the replayed session's."""
    return [world.departed, *world.takeovers, *([world.replayed] if world.replayed else [])]


def _write_reference(folder: Path, world: World) -> None:
    r = folder / "reference"
    world.accounts.select(
        "account_id", "practice_id", "role",
        pl.col("active_from").dt.strftime("%Y-%m-%d").alias("active_from"),
        pl.col("active_until").dt.convert_time_zone("Europe/Paris").dt.strftime("%Y-%m-%d").alias("active_until"),
    ).sort("account_id").write_csv(r / "accounts.csv")
    world.patients.write_csv(r / "patients.csv")
    world.care.select("patient_id", "practice_id", "account_id", "kind",
                      pl.col("start").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      pl.col("end").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(r / "care.csv")


_WEB_SOURCE = '''
[sources.webapp]
# The web application's audit export: local time without offset, one row per action.
format = "csv"
files = ["logs/webapp-*.csv"]
ts_format = "%Y-%m-%d %H:%M:%S"
timezone = "Europe/Paris"
patient_separator = ";"

[sources.webapp.columns]
event_key = "log_id"
ts = "timestamp"
account_id = "user"
src_ip = "ip"
user_agent = "user_agent"
action = "action"
category = "action"
patient_id = "patient"
outcome = "result"

[sources.webapp.maps.action]
{action_map}

[sources.webapp.maps.category]
{category_map}

[sources.webapp.maps.outcome]
OK = "success"
DENIED = "failure"
'''

# Every path rule ends with `_END`: a path may carry a trailing slash and a query string
# (`/api/v1/patients/P2/`, `/api/v1/patients/P3?fields=all`); no capture can hold a `/` or a `?`.
_END = "/?(?:[?].*)?$"

_API_SOURCE = '''
[sources.gateway]
# The API gateway: gzip JSON lines, web-server time with offset; method + path + status say what happened.
# A search results page, and an exported list, name their patients in a JSON array (`results`).
format = "jsonl"
files = ["logs/gateway-*.jsonl.gz"]
ts_format = "%d/%b/%Y:%H:%M:%S.%g %z"

[sources.gateway.columns]
event_key = "request_id"
ts = "time"
account_id = "user"
session_id = "session"
src_ip = "client_ip"
user_agent = "user_agent"
patient_id = "results"

[[sources.gateway.rules]]
name = "login"
when = { method = "^POST$", path = "^/api/v1/auth/login{END}", status = "^2" }
set = { action = "login", category = "administrative" }

[[sources.gateway.rules]]
name = "login refused"
when = { method = "^POST$", path = "^/api/v1/auth/login{END}", status = "^4" }
set = { action = "login_failed", category = "administrative" }

[[sources.gateway.rules]]
name = "logout"
when = { path = "^/api/v1/auth/logout{END}" }
set = { action = "logout", category = "administrative" }

[[sources.gateway.rules]]
name = "patient search (a page of results)"
when = { method = "^GET$", path = "^/api/v1/patients/?[?]" }
set = { action = "search", category = "patient_list" }

[[sources.gateway.rules]]
name = "export of a patient list"
when = { method = "^POST$", path = "^/api/v1/exports{END}" }
set = { action = "export", category = "patient_list" }

[[sources.gateway.rules]]
name = "patient summary"
when = { method = "^GET$", path = "^/api/v1/patients/(?P<patient_id>[^/?]+){END}" }
set = { action = "view", category = "full_record" }

[[sources.gateway.rules]]
name = "print"
when = { method = "^GET$", path = "^/api/v1/patients/(?P<patient_id>[^/?]+)/print{END}" }
set = { action = "print", category = "full_record" }

[[sources.gateway.rules]]
name = "document download"
when = { method = "^GET$", path = "^/api/v1/patients/(?P<patient_id>[^/?]+)/documents/(?P<resource_id>[^/?]+){END}" }
set = { action = "download", category = "document" }

[[sources.gateway.rules]]
name = "note edit"
when = { method = "^PUT$", path = "^/api/v1/patients/(?P<patient_id>[^/?]+)/notes/(?P<resource_id>[^/?]+){END}" }
set = { action = "update", category = "clinical_note" }

[[sources.gateway.rules]]
name = "new prescription"
when = { method = "^POST$", path = "^/api/v1/patients/(?P<patient_id>[^/?]+)/prescriptions{END}" }
set = { action = "create", category = "prescription" }

[[sources.gateway.rules]]
name = "reminder sent"
when = { method = "^POST$", path = "^/api/v1/patients/(?P<patient_id>[^/?]+)/reminders{END}" }
set = { action = "share", category = "contact" }

[[sources.gateway.rules]]
name = "read a part of the record"
when = { method = "^GET$", path = "^/api/v1/patients/(?P<patient_id>[^/?]+)/(?P<resource_type>[a-z]+){END}" }
set = { action = "view" }

[[sources.gateway.rules]]
name = "notes"
when = { path = "/notes{END}" }
set = { category = "clinical_note" }

[[sources.gateway.rules]]
name = "prescriptions"
when = { path = "/prescriptions{END}" }
set = { category = "prescription" }

[[sources.gateway.rules]]
name = "labs"
when = { path = "/labs{END}" }
set = { category = "lab_result" }

[[sources.gateway.rules]]
name = "appointments"
when = { path = "/appointments{END}" }
set = { category = "appointment" }

[[sources.gateway.rules]]
name = "contact"
when = { path = "/contact{END}" }
set = { category = "contact" }

[[sources.gateway.rules]]
name = "success"
when = { status = "^2" }
set = { outcome = "success" }

[[sources.gateway.rules]]
name = "refused"
when = { status = "^(401|403|404)$" }
set = { outcome = "failure" }
'''.replace("{END}", _END)

_FHIR_SOURCE = '''
[sources.audit]
# FHIR AuditEvent (R4) bulk export, one resource per line.
format = "fhir"
files = ["logs/audit-events.ndjson.gz"]
'''


def _write_case(folder: Path, world: World, opts: SynthOptions, channels: dict[str, str]) -> None:
    fmts = set(channels.values())
    n_days = opts.scenario.baseline_days if opts.scenario else opts.days
    days = f" --days {n_days}" if n_days != Scenario.baseline_days else ""
    parts = [f'''# A synthetic breach world written by `scoping synth --scale {opts.scale} --seed {opts.seed}{days}`.
# Its ground truth is in truth/; `scoping run .` must reproduce it exactly.

[case]
name = "Synthetic breach (seed {opts.seed}, scale {opts.scale})"
memory_limit = "2GB"
''']
    if "csv" in fmts:
        parts.append(_WEB_SOURCE.format(
            action_map="\n".join(f'{c[0]} = "{c[1]}"' for c in CODES),
            category_map="\n".join(f'{c[0]} = "{c[2]}"' for c in CODES)))
    if "jsonl" in fmts:
        parts.append(_API_SOURCE)
    if "fhir" in fmts:
        parts.append(_FHIR_SOURCE)
    accounts = ", ".join(f'"{a}"' for a in _compromised(world))
    start = BREACH_START.strftime("%Y-%m-%d %H:%M")
    end = SHUTDOWN.strftime("%Y-%m-%d %H:%M")
    parts.append(f'''
[reference.accounts]
file = "reference/accounts.csv"
timezone = "Europe/Paris"

[reference.patients]
file = "reference/patients.csv"

[reference.care]
file = "reference/care.csv"

[incident]
name = "Synthetic breach: departed doctor's account, then password spraying"
timezone = "Europe/Paris"
windows = [["{start}", "{end}"]]
containment = "{end}"
compromised_accounts = [{accounts}]

[incident.indicators]
ips = ["{ATTACK_NET_1}.0/24", "{ATTACK_NET_2}.0/24"]
user_agents = ["python-requests/*"]
''')
    (folder / "case.toml").write_text("".join(parts), encoding="utf-8")

