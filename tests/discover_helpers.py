"""Discovery on both engines: a small hand-made world written into a store and a lake (each account shows one thing
the synthetic worlds do not: a pivot around a cycle, groups whose every value is NULL, a baseline median of x.5, a
spray), and one discovery run on DuckDB and on Spark with every table each file made, to compare."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from scoping import lake as _lake
from scoping import spark_sql
from scoping.config import CaseConfig
from scoping.discover import DiscoveryResult, discover
from scoping.engine import DuckDBEngine
from scoping.spark_engine import SparkEngine
from scoping.store import Runner, connect

PERIOD = (datetime(2025, 11, 10, tzinfo=UTC), datetime(2025, 11, 17, tzinfo=UTC))
EMPTY_PERIOD = (datetime(2025, 12, 1, tzinfo=UTC), datetime(2025, 12, 8, tzinfo=UTC))
IP1, IP2, IP3, GATEWAY, SPRAY = "203.0.113.1", "203.0.113.2", "203.0.113.3", "172.16.0.1", "198.51.100.7"
# the pivot: A (departed: a seed) uses IP1; B uses IP1 and IP2; C uses IP2, IP1 (the cycle) and IP3; D only IP3
CYCLE = {"A": (IP1, GATEWAY), "B": (IP1, IP2), "C": (IP2, IP1, IP3), "D": (IP3,)}


@dataclass
class _Events:
    rows: list[tuple[object, ...]]

    def add(self, account: str, ts: datetime, *, ip: str | None, ua: str | None, action: str = "view",
            patient: str | None = None, outcome: str = "success", session: str | None = None) -> None:
        n = len(self.rows)
        self.rows.append((f"e{n:05d}", ts, account, session, ip, ua, action, "clinical", patient, outcome, "s1", n))


def _baseline(ev: _Events) -> None:
    """Four weeks before the period: each account at its own office, from its own client."""
    start = PERIOD[0] - timedelta(days=20)
    offices = {"A": "10.0.0.1", "B": "10.0.0.2", "C": "10.0.0.3", "D": "10.0.0.4", "K": "10.0.0.5", "M": "10.0.0.6",
               "R": "10.0.0.7"}
    for day in range(10):
        ts = start + timedelta(days=day, hours=9)
        for account, ip in offices.items():
            ev.add(account, ts, ip=ip, ua=f"ua-{account}", patient=f"p-{account}-1")
        for f in range(1, 6):  # five accounts share the gateway: it never links accounts
            ev.add(f"F{f}", ts, ip=GATEWAY, ua=f"ua-F{f}", patient=f"p-F{f}")
    # V: one patient in one hour, two in another: a baseline median of 1.5 patients per hour
    ev.add("V", start + timedelta(hours=9), ip="10.0.0.8", ua="ua-V", patient="p-V-1")
    for p in (1, 2):
        ev.add("V", start + timedelta(days=1, hours=9), ip="10.0.0.8", ua="ua-V", patient=f"p-V-{p}")


def _period(ev: _Events) -> None:
    t0 = PERIOD[0] + timedelta(days=1, hours=10)
    for k, (account, ips) in enumerate(CYCLE.items()):
        for j, ip in enumerate(ips):
            ev.add(account, t0 + timedelta(minutes=10 * k + j), ip=ip, ua="curl/8", patient=f"q-{account}-{j}")
    for p in range(8):  # A reads patients of no practice of its own
        ev.add("A", t0 + timedelta(hours=1, minutes=p), ip=IP1, ua="curl/8", patient=f"q-other-{p}")
    ev.add("F1", t0, ip=GATEWAY, ua="ua-F1", patient="p-F1")
    # a spray: failed logins on five accounts, then a success on K
    for f in range(1, 6):
        ev.add(f"F{f}", t0 + timedelta(hours=2, seconds=f), ip=SPRAY, ua="python", action="login_failed",
               outcome="failure")
    ev.add("K", t0 + timedelta(hours=2, minutes=1), ip=SPRAY, ua="python", action="login")
    # R: its log session replayed from a new address
    ev.add("R", t0 + timedelta(hours=3), ip="10.0.0.7", ua="ua-R", session="r1", patient="p-R-1")
    ev.add("R", t0 + timedelta(hours=3, minutes=5), ip="203.0.113.9", ua="ua-R", session="r1", patient="p-R-2")
    # N: departed, no baseline, every value of its period's events NULL but the account (groups of NULLs): a seed
    # with no address to follow, flagged, its one session from no address and no client
    for m in range(3):
        ev.add("N", t0 + timedelta(hours=4, minutes=m), ip=None, ua=None, action="other")
    # M: every request refused, from a new address
    ev.add("M", t0 + timedelta(hours=5), ip="203.0.113.20", ua="ua-M", outcome="failure", patient="p-M-9")
    # V: twenty patients in one hour, with exports
    for p in range(20):
        ev.add("V", t0 + timedelta(hours=6, minutes=p), ip="10.0.0.8", ua="ua-V",
               action="export" if p % 2 else "view", patient=f"p-V-{p}")
    # W: no baseline at all (dormant), its one request with no client
    ev.add("W", t0 + timedelta(hours=7), ip="203.0.113.30", ua=None, patient="p-W-1")


def write_world(folder: Path) -> tuple[Runner, _lake.Lake, CaseConfig]:
    """The world's store (events, reference tables, hours) with its lake written and attached."""
    folder.mkdir(parents=True, exist_ok=True)
    runner = Runner(connect(folder / "case.duckdb"))
    runner.run("store_schema")
    ev = _Events([])
    _baseline(ev)
    _period(ev)
    con = runner.con
    con.executemany("INSERT INTO events (event_key, ts, account_id, session_id, src_ip, user_agent, action, category, "
                    "patient_id, outcome, source_id, source_line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    ev.rows)
    accounts = sorted({row[2] for row in ev.rows})
    con.executemany("INSERT INTO accounts VALUES (?, 'P1', 'gp', NULL, ?)",
                    [(a, datetime(2025, 11, 1, tzinfo=UTC) if a in ("A", "N") else None) for a in accounts])
    patients = sorted({row[8] for row in ev.rows if row[8] and not row[8].startswith("q-other")})
    con.executemany("INSERT INTO patients VALUES (?, 'P1')", [(p,) for p in patients])
    con.execute("INSERT INTO care VALUES ('q-other-0', NULL, 'A', 'referral', TIMESTAMPTZ '2025-11-01 00:00:00+00', "
                "NULL)")
    con.execute("INSERT INTO evidence (source_id, source, kind, path, sha256) VALUES ('s1', 'hand', 'log', "
                "'hand.csv', 'ab')")
    runner.run("account_hours_rebuild")
    lake = _lake.Lake(str(folder / "lake"))
    _lake.write(runner, lake)
    _lake.attach(runner, lake)
    return runner, lake, CaseConfig(root=folder, name="hand-made", sources=(), references=())


# what discovery leaves in DuckDB, and what Spark keeps or lands of it
TABLES = ("discover_events", "discover_baseline", "discover_habits", "discover_signals", "discover_new_ips",
          "discover_walk", "discover_pivot", "discover_touched", "session_input")
DISCOVER_FILES = sorted(n for n in spark_sql.SPARK_FILES if n.startswith("discover_"))


@dataclass
class RecordingSparkEngine(SparkEngine):
    """The Spark engine, keeping for the tests the rows of every view Spark kept, as they were after its last file."""

    recorded: dict[str, pl.DataFrame] = field(default_factory=dict)

    def _keep(self, name: str, frame: Any) -> tuple[Any, int]:
        kept = super()._keep(name, frame)
        table, _ = spark_sql.target(name)
        self.recorded[table] = pl.DataFrame(pl.from_arrow(self._kept[table].toArrow()))
        return kept


@dataclass
class Compared:
    """One discovery on DuckDB and the same on Spark: the results, DuckDB's tables, what Spark kept and landed."""

    duck: DiscoveryResult
    spark: DiscoveryResult
    duck_tables: dict[str, pl.DataFrame]
    kept: dict[str, pl.DataFrame]           # Spark's views
    landed: dict[str, pl.DataFrame]         # the tables Spark's rows became in DuckDB
    duck_steps: list[int]
    spark_steps: list[int]

    def what_spark_made(self, name: str) -> list[tuple[str, pl.DataFrame, pl.DataFrame]]:
        """For a Spark-run file of discovery: (what, DuckDB's rows, Spark's rows), for its view, its landed rows, or
        the frame it returns."""
        spec = spark_sql.SPARK_FILES[name]
        if not (spec.keeps or spec.lands):
            return [("frame", self.duck.indicators, self.spark.indicators)]
        table, _ = spark_sql.target(name)
        pairs = [("kept", self.duck_tables[table], self.kept[table])] if spec.keeps else []
        if spec.lands:
            pairs.append(("landed", self.duck_tables[table], self.landed[table]))
        return pairs


def assert_same_rows(duck: pl.DataFrame, spark: pl.DataFrame) -> None:
    """The same columns, of the same types, and the same rows (in any order)."""
    assert spark.schema == duck.schema
    assert_frame_equal(spark.sort(spark.columns, nulls_last=True), duck.sort(duck.columns, nulls_last=True))


def _steps(runner: Runner, first: int, name: str) -> list[int]:
    return [int(t.params["depth"]) for t in runner.trace[first:] if t.name == name]


def _tables(runner: Runner, names: tuple[str, ...]) -> dict[str, pl.DataFrame]:
    return {t: runner.con.sql(f"SELECT * FROM {t}").pl() for t in names}


def discover_on_both(runner: Runner, cfg: CaseConfig, spark_engine: RecordingSparkEngine,
                     **kwargs: Any) -> Compared:
    """Discovery on DuckDB over the lake, then the same on Spark (`spark_engine`), with the same connection."""
    first = len(runner.trace)
    duck = discover(runner, cfg, engine=DuckDBEngine(tables="lake"), **kwargs)
    duck_tables, duck_steps = _tables(runner, TABLES), _steps(runner, first, "discover_pivot_step")
    first = len(runner.trace)
    found = discover(runner, cfg, engine=spark_engine, **kwargs)
    landed = _tables(runner, ("discover_signals", "discover_pivot", "discover_touched", "session_input"))
    return Compared(duck, found, duck_tables, dict(spark_engine.recorded), landed, duck_steps,
                    _steps(runner, first, "spark:discover_pivot_step"))
