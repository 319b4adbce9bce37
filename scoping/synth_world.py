"""The synthetic world: practices, accounts, patients, care relationships, and the breach scenario.

Everything here is drawn from one seeded numpy Generator, so a seed names a world. The activity
itself (normal days, the attack, the decoys) is made by `synth_activity`; the files by `synth`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

TZ = ZoneInfo("Europe/Paris")
BASELINE_START = date(2025, 10, 13)      # by default four weeks of normal work, across the 26 October DST change
BREACH_START = datetime(2025, 11, 10, 18, 0, tzinfo=TZ)
SPRAY_START = datetime(2025, 11, 12, 19, 0, tzinfo=TZ)
SHUTDOWN = datetime(2025, 11, 13, 3, 0, tzinfo=TZ)  # the service is shut: the logs stop at this minute
DEPARTED_ON = datetime(2025, 6, 30, 0, 0, tzinfo=TZ)

BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:144.0) Gecko/20100101 Firefox/144.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0 Safari/537.36",
)
ATTACK_TOOL = "python-requests/2.32.3"
CARRIER_IP = "192.0.2.77"          # a mobile carrier's shared public address (CGNAT)
ATTACK_NET_1 = "203.0.113"         # phase 1: the departed doctor's account
ATTACK_NET_2 = "198.51.100"        # phase 2: password spraying and take-overs
REPLAY_IP = "2001:db8:3c4d:15::1a2f"  # a residential IPv6 address replaying a stolen session cookie
REPLAY_START = datetime(2025, 11, 11, 11, 0, tzinfo=TZ)  # the owner's session whose cookie is replayed


@dataclass(frozen=True)
class Scenario:
    """The parameters a test may vary; derived from the scale by default."""

    practices: int
    patients_per_practice: int
    takeovers: int
    phase1_patients: int
    phase2_patients_per_account: int
    baseline_days: int = 28  # days of normal work before the breach (`scoping synth --days`)
    denied_share: float = 0.12
    # A stolen session cookie replayed from another address, interleaved with its owner's own requests
    # in the very same session. Off by default until scope judges each segment of a session on its own
    # (session-level attribution counts the owner's patients of that session too).
    replayed_session: bool = True


def baseline_start(sc: Scenario) -> date:
    """The first day of normal work: `baseline_days` before the day the breach starts (BASELINE_START by default)."""
    return BREACH_START.date() - timedelta(days=sc.baseline_days)


def scenario_for(scale: float, days: int = 28) -> Scenario:
    """The scenario of a world of this scale: the scale sets the daily volume, `days` how many days of normal work
    come before the breach (more days, the same daily volume)."""
    s = max(scale, 0.05)
    return Scenario(
        practices=max(6, round(30 * s)),
        patients_per_practice=150,
        takeovers=max(2, min(12, round(3 * s ** 0.5))),
        phase1_patients=max(40, round(300 * s ** 0.5)),
        phase2_patients_per_account=max(15, round(60 * s ** 0.5)),
        baseline_days=days,
    )


@dataclass
class World:
    practices: pl.DataFrame
    accounts: pl.DataFrame      # account_id, practice_id, role, active_from, active_until, ip, home_ip, ua, ...
    patients: pl.DataFrame      # patient_id, practice_id (one row per registration)
    care: pl.DataFrame          # patient_id, practice_id, account_id, kind, start, end
    departed: str
    takeovers: list[str]
    interleaved: str
    decoys: dict[str, str]      # account_id → kind
    replayed: str | None = None  # the account whose session cookie is replayed (Scenario.replayed_session)


def _ip(prefix: str, n: np.ndarray) -> np.ndarray:
    return np.char.add(prefix, n.astype(str))


def build_world(sc: Scenario, rng: np.random.Generator) -> World:
    n_pr = sc.practices
    practice_ids = np.array([f"PR{i:05d}" for i in range(1, n_pr + 1)])
    # every practice's public address: 172.16.0.0/12, distinct
    octets = np.arange(n_pr)
    practice_ip = np.array([f"172.{16 + (i // 65536) % 16}.{(i // 256) % 256}.{i % 256}" for i in octets])
    practices = pl.DataFrame({"practice_id": practice_ids, "public_ip": practice_ip})

    rows = []
    counter = 0
    for p in range(n_pr):
        roles = ["doctor", "doctor", "secretary"] + (["midwife"] if p % 3 == 0 else [])
        for role in roles:
            counter += 1
            prefix = {"doctor": "dr", "secretary": "sec", "midwife": "sf"}[role]
            rows.append((f"{prefix}-{counter:05d}", practice_ids[p], role, p))
    acc = pl.DataFrame(rows, schema=["account_id", "practice_id", "role", "practice_no"], orient="row")
    n_acc = acc.height
    ua_idx = rng.integers(0, len(BROWSERS), n_acc)
    home = rng.random(n_acc) < 0.25
    home_ip = np.where(home, np.array([f"10.{(i // 256) % 256}.{i % 256}.{rng.integers(2, 250)}"
                                       for i in range(n_acc)]), "")
    active_from = np.full(n_acc, datetime(2019, 1, 1, tzinfo=UTC))
    acc = acc.with_columns(
        pl.Series("ua", np.array(BROWSERS)[ua_idx]),
        pl.Series("home_ip", home_ip),
        pl.Series("ip", practice_ip[acc["practice_no"].to_numpy()]),
    )
    doctors = acc.filter(pl.col("role") == "doctor")["account_id"].to_list()
    secretaries = acc.filter(pl.col("role") == "secretary")["account_id"].to_list()
    # The breach's first account: a doctor who left in June, never disabled.
    departed = doctors[0]
    # Take-overs: doctors of other practices (never the decoys below).
    pool = [d for d in doctors[2:] if d != departed]
    takeovers = sorted(rng.choice(pool[: max(len(pool) // 2, sc.takeovers)], sc.takeovers, replace=False).tolist())
    interleaved = takeovers[0]
    rest = [d for d in doctors[1:] if d not in takeovers]
    decoys = {rest[-1]: "night_on_call", rest[-2]: "shares_carrier_address",
              secretaries[len(secretaries) // 2]: "bulk_reminders"}
    # The infostealer's victim: a doctor compromised by no other means (chosen without drawing from the
    # generator, so the flag changes nothing else in the world).
    replayed = rest[len(rest) // 3] if sc.replayed_session else None
    until = [DEPARTED_ON.astimezone(UTC) if a == departed else None for a in acc["account_id"].to_list()]
    active_until = np.array(until, dtype=object)
    acc = acc.with_columns(
        pl.Series("active_from", active_from.tolist(), dtype=pl.Datetime("us", "UTC")),
        pl.Series("active_until", active_until.tolist(), dtype=pl.Datetime("us", "UTC")),
    )
    night = next(iter(k for k, v in decoys.items() if v == "night_on_call"))
    acc = acc.with_columns(
        pl.when(pl.col("account_id") == night).then(pl.lit("10.250.0.9")).otherwise(pl.col("home_ip"))
        .alias("home_ip"))

    # Patients: each registered with one practice; 5% also with a second one.
    n_pat = n_pr * sc.patients_per_practice
    patient_ids = np.array([f"P{i:07d}" for i in range(1, n_pat + 1)])
    home_practice = np.repeat(np.arange(n_pr), sc.patients_per_practice)
    second = rng.random(n_pat) < 0.05
    other = (home_practice + rng.integers(1, n_pr, n_pat)) % n_pr
    patients = pl.concat([
        pl.DataFrame({"patient_id": patient_ids, "practice_id": practice_ids[home_practice]}),
        pl.DataFrame({"patient_id": patient_ids[second], "practice_id": practice_ids[other[second]]}),
    ]).sort(["patient_id", "practice_id"])

    # Care: every patient had an encounter with a doctor of their main practice in the last year.
    docs = acc.filter(pl.col("role") == "doctor").select("account_id", "practice_no")
    by_practice = docs.group_by("practice_no").agg(pl.col("account_id")).sort("practice_no")
    doc_lists = by_practice["account_id"].to_list()
    pick = rng.integers(0, 2, n_pat)
    care_doc = np.array([doc_lists[p][k % len(doc_lists[p])] for p, k in zip(home_practice, pick, strict=True)])
    start_days = rng.integers(0, 300, n_pat)
    care = pl.DataFrame({
        "patient_id": patient_ids,
        "practice_id": practice_ids[home_practice],
        "account_id": care_doc,
        "kind": np.where(rng.random(n_pat) < 0.8, "encounter", "appointment"),
        "start": [datetime(2024, 11, 1, 9, tzinfo=UTC) + timedelta(days=int(d)) for d in start_days],
    }).with_columns((pl.col("start") + pl.duration(minutes=20)).alias("end"))
    return World(practices=practices, accounts=acc, patients=patients, care=care, departed=departed,
                 takeovers=takeovers, interleaved=interleaved, decoys=decoys, replayed=replayed)
