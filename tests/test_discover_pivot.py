"""The pivot as a bounded loop gives the rows the recursive CTE gave (tests/data/oracles/discover_pivot_recursive.sql,
the definition before the loop): on any graph of accounts and new addresses (hypothesis), on the hand-made world's
cycle at every depth, and it stops as soon as a step adds nothing. DuckDB only; test_spark_discover.py runs the same
files on Spark."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from discover_helpers import PERIOD, write_world
from hypothesis import given, settings
from hypothesis import strategies as st

from scoping.discover import DiscoverySettings, discover, pivot
from scoping.engine import DuckDBEngine
from scoping.store import Runner

ORACLE = (Path(__file__).parent / "data" / "oracles" / "discover_pivot_recursive.sql").read_text()
ACCOUNTS = [f"a{i}" for i in range(6)]
IPS = [f"192.0.2.{i}" for i in range(4)]
TS = datetime(2025, 11, 10, 12, tzinfo=UTC)


def _oracle(runner: Runner, s: DiscoverySettings) -> list[tuple]:
    runner.con.execute(ORACLE, {"seed_points": s.seed_points, "gateway_min_accounts": s.gateway_min_accounts,
                                "max_depth": s.max_depth})
    return runner.con.sql("SELECT * FROM discover_pivot ORDER BY account_id").fetchall()


def _loop(runner: Runner, s: DiscoverySettings) -> list[tuple]:
    pivot(runner, DuckDBEngine(), s)
    return runner.con.sql("SELECT * FROM discover_pivot ORDER BY account_id").fetchall()


def _steps(runner: Runner) -> list[int]:
    return [t.params["depth"] for t in runner.trace if t.name == "discover_pivot_step"]


@pytest.fixture
def graph_runner():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    yield Runner(con)
    con.close()


def _graph(runner: Runner, events: list[tuple[str, str | None, bool]], baseline: list[tuple[str, str]],
           scores: dict[str, int]) -> None:
    """discover_events, discover_baseline and discover_signals as the pivot reads them."""
    con = runner.con

    def insert(sql: str, rows: list[tuple]) -> None:
        if rows:
            con.executemany(sql, rows)

    con.execute("CREATE OR REPLACE TEMP TABLE discover_events (event_key VARCHAR, ts TIMESTAMPTZ, account_id VARCHAR, "
                "session_id VARCHAR, src_ip VARCHAR, user_agent VARCHAR, action VARCHAR, category VARCHAR, patient_id "
                "VARCHAR, outcome VARCHAR, in_period BOOLEAN, own_patient BOOLEAN)")
    insert("INSERT INTO discover_events VALUES (?, ?, ?, NULL, ?, 'ua', 'view', NULL, NULL, ?, true, NULL)",
                    [(f"e{i}", TS, a, ip, "failure" if refused else "success")
                     for i, (a, ip, refused) in enumerate(events)])
    con.execute("CREATE OR REPLACE TEMP TABLE discover_baseline (account_id VARCHAR, src_ip VARCHAR, user_agent "
                "VARCHAR, event_rows BIGINT)")
    insert("INSERT INTO discover_baseline VALUES (?, ?, 'ua', 1)", baseline)
    con.execute("CREATE OR REPLACE TEMP TABLE discover_signals (account_id VARCHAR, signal VARCHAR, points INTEGER, "
                "reason VARCHAR, first_ts TIMESTAMPTZ, last_ts TIMESTAMPTZ)")
    insert("INSERT INTO discover_signals VALUES (?, 's', ?, 'r', NULL, NULL)", list(scores.items()))


@settings(max_examples=100, deadline=None)
@given(events=st.lists(st.tuples(st.sampled_from(ACCOUNTS), st.one_of(st.none(), st.sampled_from(IPS)),
                                 st.booleans()), min_size=4, max_size=30),
       baseline=st.lists(st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(IPS)), max_size=8),
       scores=st.dictionaries(st.sampled_from(ACCOUNTS), st.sampled_from([10, 79, 80, 100]), max_size=4),
       gateway_min_accounts=st.integers(2, 3), max_depth=st.integers(0, 6))
def test_the_loop_gives_the_recursive_pivots_rows_on_any_graph(events, baseline, scores, gateway_min_accounts,
                                                                max_depth):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    runner = Runner(con)
    _graph(runner, events, baseline, scores)
    s = DiscoverySettings(gateway_min_accounts=gateway_min_accounts, max_depth=max_depth)
    assert _loop(runner, s) == _oracle(runner, s)
    assert len(_steps(runner)) <= max_depth
    con.close()


def test_the_loop_leaves_a_cycle_as_soon_as_nothing_new_appears(graph_runner):
    """A -ip0-> B -ip1-> C -ip0-> back; C -ip2-> D: D at depth 2; depth 3 reaches only C again, depth 4 nothing."""
    events = [("a0", IPS[0], False), ("a1", IPS[0], False), ("a1", IPS[1], False), ("a2", IPS[1], False),
              ("a2", IPS[0], False), ("a2", IPS[2], False), ("a3", IPS[2], False)]
    _graph(graph_runner, events, [], {"a0": 100})
    rows = _loop(graph_runner, DiscoverySettings(max_depth=50))
    assert _steps(graph_runner) == [1, 2, 3, 4]  # not 50: the step of depth 4 added nothing
    assert [(r[0], r[3]) for r in rows] == [
        ("a1", f"used {IPS[0]}, {IPS[1]}, new to it and used by suspect account(s) a0, a2"),
        ("a2", f"used {IPS[0]}, {IPS[1]}, {IPS[2]}, new to it and used by suspect account(s) a0, a1, a3"),
        ("a3", f"used {IPS[2]}, new to it and used by suspect account(s) a2")]
    assert rows == _oracle(graph_runner, DiscoverySettings(max_depth=50))
    for depth, reached in ((0, set()), (1, {"a1", "a2"}), (2, {"a1", "a2", "a3"})):
        s = DiscoverySettings(max_depth=depth)
        assert {r[0] for r in _loop(graph_runner, s)} == reached
        assert _loop(graph_runner, s) == _oracle(graph_runner, s)


def test_the_hand_made_worlds_pivot_is_the_recursive_ones_at_every_depth(tmp_path):
    runner, _, cfg = write_world(tmp_path / "case")
    found = discover(runner, cfg, since=PERIOD[0], until=PERIOD[1], engine=DuckDBEngine(tables="lake"))
    assert "pivot" in " ".join(found.accounts["signals"])
    assert _steps(runner) == [1, 2, 3, 4]
    for depth in range(7):
        s = DiscoverySettings(max_depth=depth)
        assert _loop(runner, s) == _oracle(runner, s), depth
    runner.con.close()
