"""Discovery on Spark equals discovery on DuckDB on the hand-made world (tests/discover_helpers.py): per Spark-run file,
the view Spark kept, the rows it landed or the frame it returned are DuckDB's table; a pivot around a cycle the loop
leaves early, groups whose every value is NULL, a baseline median of 1.5, and a period with no event at all. The
synthetic world's run is in test_spark.py."""

from __future__ import annotations

import pytest
from discover_helpers import (
    DISCOVER_FILES,
    EMPTY_PERIOD,
    PERIOD,
    RecordingSparkEngine,
    assert_same_rows,
    discover_on_both,
    write_world,
)

from scoping import spark_sql
from scoping.config import SparkSettings


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    runner, lake, cfg = write_world(tmp_path_factory.mktemp("hand-made") / "case")
    yield runner, lake, cfg
    runner.con.close()


@pytest.fixture(scope="module")
def compared(world, spark):
    runner, lake, cfg = world
    return discover_on_both(runner, cfg, RecordingSparkEngine(SparkSettings(master="local[2]"), lake),
                            since=PERIOD[0], until=PERIOD[1])


@pytest.fixture(scope="module")
def compared_empty(world, spark):
    runner, lake, cfg = world
    return discover_on_both(runner, cfg, RecordingSparkEngine(SparkSettings(master="local[2]"), lake),
                            since=EMPTY_PERIOD[0], until=EMPTY_PERIOD[1])


@pytest.mark.parametrize("name", DISCOVER_FILES)
def test_each_spark_file_computes_duckdbs_rows(compared, name):
    pairs = compared.what_spark_made(name)
    assert pairs
    for _, duck, spark in pairs:
        assert_same_rows(duck, spark)


def test_discovery_on_spark_gives_the_embedded_frames(compared):
    for frame in ("accounts", "sessions", "indicators"):
        assert getattr(compared.spark, frame).equals(getattr(compared.duck, frame)), frame
    assert compared.spark.files() == compared.duck.files()
    files = compared.spark.run.engine["files"]
    assert set(files) == set(DISCOVER_FILES)
    assert all(files[n] == spark_sql.texts()[n] for n in files)


def test_the_pivot_leaves_the_cycle_early_on_both_engines(compared):
    assert compared.spark_steps == compared.duck_steps == [1, 2, 3, 4]  # max_depth 5: depth 4 added nothing
    reasons = dict(compared.duck_tables["discover_pivot"].select("account_id", "reason").iter_rows())
    assert reasons == {"B": "used 203.0.113.1, 203.0.113.2, new to it and used by suspect account(s) A, C",
                       "C": "used 203.0.113.1, 203.0.113.2, 203.0.113.3, new to it and used by suspect account(s) "
                            "A, B, D",
                       "D": "used 203.0.113.3, new to it and used by suspect account(s) C"}


def test_nulls_medians_and_a_seed_without_address(compared):
    accounts = {row["account_id"]: row for row in compared.spark.accounts.iter_rows(named=True)}
    assert accounts["N"]["signals"] == "after_departure, dormant" and accounts["N"]["patients_touched"] == 0
    assert "(baseline median 2, max 2)" in accounts["V"]["reasons"]  # 1.5 rounded as DuckDB rounds it
    assert "W" in accounts and "M" not in accounts  # dormant without a client; every request refused: nothing
    (session,) = compared.spark.sessions.filter(compared.spark.sessions["account_id"] == "N").iter_rows(named=True)
    assert session["src_ips"] is None and session["user_agents"] is None and session["patients"] == 0
    assert compared.kept["discover_walk"].filter(compared.kept["discover_walk"]["account_id"] == "N").height == 1


@pytest.mark.parametrize("name", DISCOVER_FILES)
def test_a_period_without_events(compared_empty, name):
    for _, duck, spark in compared_empty.what_spark_made(name):
        assert_same_rows(duck, spark)
    if name == "discover_events":
        assert compared_empty.kept["discover_events"].height == 0
        assert compared_empty.spark.accounts.height == compared_empty.spark.indicators.height == 0
        assert compared_empty.spark_steps == compared_empty.duck_steps == [1]
