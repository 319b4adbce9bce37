"""Discovery: rank the accounts and sessions that look compromised, before anyone names them.

Each signal is computed in SQL against the account's own baseline (`discover_signals.sql`), then a
pivot follows the attacker's new addresses from the strongest accounts to others: a bounded loop, one
small join per depth (`discover_pivot_step.sql`), summed up by `discover_pivot.sql`. Every reason shown
carries the signal name of the SQL that produced it. With the Spark engine the same files run on Spark,
from the scan of the period to the signals, the pivot and the indicators; what comes back to DuckDB is
small: the signal rows, the pivot's rows, the patients each account touched, and the events of the
accounts proposed as compromised, whose sessions DuckDB finds. `DiscoveryResult.proposed_incident()`
turns the ranking into an incident definition for the analyst to review before `scope`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from . import queries, runs
from .config import CaseConfig
from .engine import DuckDBEngine, Engine
from .errors import ConfigError
from .incident import parse_time
from .ingest import ensure_account_hours
from .result import RunRecord, in_local_time
from .scope import require_events
from .store import Runner
from .writers import csv_bytes, visible


@dataclass(frozen=True)
class DiscoverySettings:
    """The thresholds, all bound as parameters of the discovery SQL and recorded with the results."""

    baseline_days: int = 28
    period_days: int = 7
    threshold: int = 60            # score from which an account is proposed as compromised
    seed_points: int = 80          # signals strong enough to start the pivot on their own
    min_foreign_patients: int = 5
    spray_min_accounts: int = 5
    gateway_min_accounts: int = 5
    volume_min_ratio: float = 3.0
    max_depth: int = 5


@dataclass(frozen=True)
class DiscoveryResult:
    """A recorded discovery run: the ranked accounts, their segments, candidate indicators, with its parameters."""

    run: RunRecord
    accounts: pl.DataFrame
    sessions: pl.DataFrame
    indicators: pl.DataFrame
    period: tuple[datetime, datetime]
    baseline_start: datetime
    settings: DiscoverySettings
    timezone: str = "UTC"
    period_events: int | None = None  # the event rows of the period examined (None: a run loaded from the store)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def in_local_time(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` (`accounts`, `sessions`) with its instants as date-times of the case's zone."""
        return in_local_time(frame, self.timezone)

    @property
    def proposed(self) -> pl.DataFrame:
        return self.accounts.filter(pl.col("score") >= self.settings.threshold)

    def proposed_incident(self) -> dict[str, Any]:
        """An [incident] table: accounts above the threshold, windows from first to last suspicious activity."""
        spans = []
        for row in self.proposed.iter_rows(named=True):
            if row["first_suspicious_utc"] is None:
                continue
            start = datetime.fromisoformat(row["first_suspicious_utc"]).replace(second=0, microsecond=0)
            end = datetime.fromisoformat(row["last_suspicious_utc"]).replace(second=0, microsecond=0) \
                + timedelta(minutes=1)
            end = min(end, self.period[1])  # never past the period examined (its events all fall before its end)
            spans.append((start, end))
        spans.sort()
        merged: list[list[datetime]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        ind = self.indicators
        return {
            "name": "Proposed by scoping discover (review before use)",
            "timezone": self.timezone,
            "windows": [[s.isoformat(), e.isoformat()] for s, e in merged],
            "compromised_accounts": sorted(self.proposed["account_id"].to_list()),
            "indicators": {
                "ips": ind.filter(pl.col("kind") == "ip")["value"].to_list(),
                "user_agents": [_glob_literal(v) for v in ind.filter(pl.col("kind") == "client")["value"]],
            },
        }

    def describe(self, limit: int = 15) -> str:
        lines = [f"period examined: {self.period[0].isoformat()} → {self.period[1].isoformat()} "
                 f"(baseline from {self.baseline_start.isoformat()}); run {self.run_id}",
                 f"{'score':>5}  {'account':14} {'practice':10} reasons"]
        for row in self.accounts.head(limit).iter_rows(named=True):
            mark = "*" if row["score"] >= self.settings.threshold else " "
            lines.append(f"{row['score']:>5}{mark} {visible(row['account_id']):14} "
                         f"{visible(row['practice_id'] or '-'):10} {visible(row['reasons'][:150])}")
        lines.append(f"* = proposed as compromised (score ≥ {self.settings.threshold}); "
                     f"{self.proposed.height} account(s)")
        if self.period_events == 0:
            lines.append("NO EVENT falls in the period examined: there was nothing to rank, which says nothing of the "
                         "accounts; check --from and --to (or the year) against the dates of the logs")
        return "\n".join(lines)

    def files(self) -> dict[str, bytes]:
        """The discovery section of an output set: the rankings and the proposed incident to review."""
        return {"discovery.csv": csv_bytes(self.accounts), "discovery_sessions.csv": csv_bytes(self.sessions),
                "proposed_incident.toml": incident_toml(self.proposed_incident()).encode()}


def _glob_literal(value: str) -> str:
    """A user agent as a glob matching exactly itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in value)


def toml_string(value: str) -> str:
    """A TOML basic string holding exactly `value`, whatever it contains (quotes, backslashes, newlines, NUL…)."""
    out = []
    for ch in value:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def incident_toml(inc: dict[str, Any]) -> str:
    windows = ", ".join(f"[{toml_string(s)}, {toml_string(e)}]" for s, e in inc["windows"])
    return "\n".join([
        "# Proposed by `scoping discover`: review every line, then copy it into case.toml.",
        "[incident]",
        f"name = {toml_string(inc['name'])}",
        f"timezone = {toml_string(inc['timezone'])}",
        f"windows = [{windows}]",
        f"compromised_accounts = [{', '.join(toml_string(a) for a in inc['compromised_accounts'])}]",
        "",
        "[incident.indicators]",
        f"ips = [{', '.join(toml_string(i) for i in inc['indicators']['ips'])}]",
        f"user_agents = [{', '.join(toml_string(u) for u in inc['indicators']['user_agents'])}]",
        "",
    ])


def _bound(cfg: CaseConfig, value: str | datetime | None, what: str) -> datetime | None:
    if value is None:
        return None
    tz = (cfg.incident or {}).get("timezone", "UTC")
    return parse_time(value, tz, f"discover --{what}")


def pivot(runner: Runner, engine: Engine, settings: DiscoverySettings) -> None:
    """The pivot, from the seeds one depth at a time up to max_depth: each step joins the accounts reached last to the
    accounts sharing one of their new addresses, and the loop stops early at a step that adds nothing (no account was
    reached for the first time before it). Then `discover_pivot` sums the walk up."""
    engine.run(runner, "discover_new_ips", gateway_min_accounts=settings.gateway_min_accounts)
    engine.run(runner, "discover_pivot_seeds", seed_points=settings.seed_points)
    for depth in range(1, settings.max_depth + 1):
        if not engine.run(runner, "discover_pivot_step", depth=depth):
            break
    engine.run(runner, "discover_pivot")


def discover(runner: Runner, cfg: CaseConfig, *, since: str | datetime | None = None,
             until: str | datetime | None = None, settings: DiscoverySettings | None = None,
             engine: Engine | None = None) -> DiscoveryResult:
    """Rank the accounts that look compromised over the period examined (the last week by default), record the run
    and return it; `engine` runs the scan of the period and what is made of it (DuckDB by default)."""
    engine = engine or DuckDBEngine()
    require_events(runner)
    s = settings or DiscoverySettings()
    r = runner
    last = r.execute("discover_last_event", "SELECT max(ts) FROM events")[0][0]
    end = _bound(cfg, until, "to") or (last.astimezone(UTC) + timedelta(seconds=1))
    start = _bound(cfg, since, "from") or (end - timedelta(days=s.period_days))
    start = start.replace(minute=0, second=0, microsecond=0)  # the baseline is read in whole hours
    if end <= start:
        raise ConfigError("discover: --to must be after --from")
    baseline = start - timedelta(days=s.baseline_days)
    first = len(r.trace)
    with r.atomic(), engine.stage():
        ensure_account_hours(r)
        period_events = engine.run(r, "discover_events", period_start=start.isoformat(), period_end=end.isoformat())
        for name in ("discover_baseline", "discover_habits"):
            engine.run(r, name, baseline_start=baseline.isoformat(), period_start=start.isoformat())
        engine.run(r, "discover_signals", min_foreign_patients=s.min_foreign_patients,
                   spray_min_accounts=s.spray_min_accounts, gateway_min_accounts=s.gateway_min_accounts,
                   volume_min_ratio=s.volume_min_ratio)
        pivot(r, engine, s)
        engine.run(r, "discover_touched")
        engine.run(r, "discover_session_input", threshold=s.threshold)
        r.run("sessions_derive", gap_minutes=cfg.session_gap_minutes)
        frames = {"accounts": r.frame("discover_accounts"),
                  "sessions": r.frame("discover_sessions", threshold=s.threshold),
                  "indicators": engine.frame(r, "discover_indicators", threshold=s.threshold)}
    tz = (cfg.incident or {}).get("timezone") or next((src.timezone for src in cfg.sources if src.timezone), "UTC")
    digest, evidence = runs.evidence_state(r)
    parameters = {**asdict(s), "period_utc": [start.isoformat(), end.isoformat()], "timezone": tz,
                  "session_gap_minutes": cfg.session_gap_minutes}
    sql = {q.name: q.sha256 for q in queries.all_queries()}
    trace = tuple({"query": t.name, "sql_sha256": t.sql_sha256, "params": t.params, "rows": t.rows}
                  for t in r.trace[first:])
    run = RunRecord(run_id=RunRecord.make_id("discover", parameters, digest, sql), kind="discover",
                    parameters=parameters, incident_sha256="", evidence_sha256=digest, evidence=tuple(evidence),
                    sql=sql, mappings=(), trace=trace, case_id=runs.case_id(r), engine=engine.record())
    return DiscoveryResult(run=runs.record(r, run, frames, {}, {}), period=(start, end),
                           baseline_start=baseline, settings=s, timezone=tz, period_events=period_events, **frames)


def load_discovery(runner: Runner, run_id: str | None = None) -> DiscoveryResult:
    """A recorded discovery run (the latest by default)."""
    run, _, _, frames = runs.load(runner, "discover", run_id)
    p = dict(run.parameters)
    period = tuple(datetime.fromisoformat(t) for t in p.pop("period_utc"))
    tz = p.pop("timezone")
    p.pop("session_gap_minutes", None)
    settings = DiscoverySettings(**p)
    return DiscoveryResult(run=run, accounts=frames["accounts"], sessions=frames["sessions"],
                           indicators=frames["indicators"], period=(period[0], period[1]),
                           baseline_start=period[0] - timedelta(days=settings.baseline_days), settings=settings,
                           timezone=tz)
