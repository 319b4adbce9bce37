"""The Spark engine end to end: a case with engine = "spark" publishes the embedded run's lists byte for byte, and the
synthetic truth; each file Spark runs gives DuckDB's rows on the same lake. One local Spark session (conftest)."""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from discover_helpers import DISCOVER_FILES, RecordingSparkEngine, assert_same_rows, discover_on_both
from helpers import compare_with_truth
from lake_helpers import HOURS_QUERY, attached_copy, lake_without_hours, manifest_engine, published, with_case_settings

from scoping import Case, spark_sql
from scoping.cli import main
from scoping.config import SparkSettings
from scoping.engine import DuckDBEngine
from scoping.errors import ConfigError
from scoping.lake import Lake
from scoping.spark_engine import SparkEngine

SPARK = 'engine = "spark"\n\n[spark]\nmaster = "local[2]"\nconfig = { "spark.sql.shuffle.partitions" = "2" }'


def test_scoping_run_on_spark_gives_the_embedded_lists_and_the_truth(embedded, spark, tmp_path, capsys):
    folder = tmp_path / "on-spark"
    shutil.copytree(embedded, folder, ignore=shutil.ignore_patterns("case.duckdb*", "out", ".duckdb-tmp", "lake"))
    with_case_settings(folder, SPARK)
    assert main(["run", str(folder), "--quiet", "--lang", "en"]) == 0
    said = capsys.readouterr().out
    assert "matches the synthetic ground truth (truth/affected_patients.csv): yes" in said
    assert "engine:            spark 4." in said
    assert published(folder) == published(embedded)
    cmp = compare_with_truth(folder)
    assert {k: v for k, v in cmp.items() if k not in ("truth", "out")} == dict.fromkeys(
        [k for k in cmp if k not in ("truth", "out")], 0)
    engine = manifest_engine(folder)
    assert engine["name"] == "spark" and engine["version"] == spark.version
    ran = engine["files"]["scope_account_events"]
    assert ran == spark_sql.texts()["scope_account_events"]
    with Case.open(folder) as case:  # the embedded engine recomputes the Spark run: the same bytes
        assert case.verify(recompute=True).ok


def test_spark_computes_the_hours_a_lake_lacks(embedded, spark, tmp_path):
    lake_folder = lake_without_hours(embedded, tmp_path / "lake")
    folder = attached_copy(embedded, lake_folder, tmp_path / "case", SPARK)
    with Case.open(folder) as case:
        assert not Lake(str(lake_folder)).has("account_hours")
        mine = case.sql(HOURS_QUERY)
        assert Lake(str(lake_folder)).has("account_hours")  # written by Spark when the case attached the lake
        case.publish(case.scope())
    with Case.open(embedded) as case:
        theirs = case.sql(HOURS_QUERY)
    assert mine.equals(theirs)
    assert published(folder) == published(embedded)
    assert [p for p in (lake_folder / "account_hours").rglob("*") if p.stat().st_mode & 0o077] == []


def test_spark_lands_the_windows_events_duckdb_extracts(embedded, spark):
    """scope_account_events: the Spark text over the lake, landed, equals the DuckDB file's table over the same lake."""
    with Case.open(embedded) as case:
        incident = case.incident()
        runner = case.runner
        runner.run("scope_accounts", accounts=list(incident.compromised_accounts))
        params = {"read_start": "2025-11-01T00:00:00+00:00", "scope_end": "2025-11-20T00:00:00+00:00"}
        order = "ORDER BY ts, event_key, patient_id NULLS FIRST"
        DuckDBEngine(tables="lake").run(runner, "scope_account_events", **params)
        duck = runner.con.sql(f"SELECT * FROM session_input {order}").pl()
        SparkEngine(SparkSettings(master="local[2]"), case.lake).run(runner, "scope_account_events", **params)
        on_spark = runner.con.sql(f"SELECT * FROM session_input {order}").pl()
    assert duck.height > 100
    assert on_spark.schema == duck.schema
    assert on_spark.equals(duck)


@pytest.fixture(scope="module")
def discovered(embedded, spark, tmp_path_factory):
    """The world's discovery on DuckDB, then by a case whose engine is Spark (recording what Spark kept)."""
    folder = attached_copy(embedded, embedded / "lake", tmp_path_factory.mktemp("discover") / "case", SPARK)
    with Case.open(folder) as case:
        assert isinstance(case.engine, SparkEngine)
        case._engine = RecordingSparkEngine(case.config.spark, case.lake)
        return discover_on_both(case.runner, case.config, case._engine)


def test_discovery_on_spark_ranks_as_the_embedded_one(discovered, embedded):
    found = discovered.spark
    assert found.run.engine["name"] == "spark"
    assert set(found.run.engine["files"]) == set(DISCOVER_FILES)
    assert all(found.run.engine["files"][n] == spark_sql.texts()[n] for n in DISCOVER_FILES)
    for frame in ("accounts", "sessions", "indicators"):
        assert getattr(found, frame).equals(getattr(discovered.duck, frame)), frame
    with Case.open(embedded) as case:
        theirs = case.discover()
    assert found.files() == theirs.files()
    assert found.accounts.filter(pl.col("score") >= found.settings.threshold).height > 0
    assert discovered.kept["discover_events"].height > 1000
    assert discovered.landed["session_input"].height < discovered.kept["discover_events"].height


@pytest.mark.parametrize("name", DISCOVER_FILES)
def test_each_discovery_file_on_spark_computes_duckdbs_rows(discovered, name):
    for _, duck, on_spark in discovered.what_spark_made(name):
        assert_same_rows(duck, on_spark)


def test_spark_without_pyspark_or_java_is_a_configuration_error(embedded, tmp_path, monkeypatch, capsys):
    from scoping import spark_engine

    folder = attached_copy(embedded, embedded / "lake", tmp_path / "nojava", SPARK)
    monkeypatch.setattr(spark_engine, "_missing_java", lambda: True)
    assert main(["scope", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "needs Java 17" in err and "openjdk-17-jre-headless" in err and "Traceback" not in err
    monkeypatch.setitem(__import__("sys").modules, "pyspark.sql", None)
    with pytest.raises(ConfigError, match="needs pyspark"):
        spark_engine.session(SparkSettings())


def test_a_case_opened_by_a_relative_path_tells_spark_where_its_lake_is(embedded, spark, tmp_path, monkeypatch):
    """Spark resolves a relative path against its own working folder (here the test process's at the session's
    start; a Connect server's is its own): a case opened as `scoping run .` names its lake to Spark by an absolute
    URI, and never reads another lake found there."""
    from pathlib import Path

    folder = tmp_path / "relative"
    shutil.copytree(embedded, folder, ignore=shutil.ignore_patterns("out", ".duckdb-tmp"))
    with_case_settings(folder, SPARK)
    monkeypatch.chdir(folder)
    with Case.open(Path(".")) as case:
        assert case.lake is not None and not Path(case.lake.location).is_absolute()
        assert case.lake.uri("events") == (folder / "lake" / "events").resolve().as_uri()
        case.publish(case.scope())
    assert published(folder) == published(embedded)


def test_a_run_records_only_the_spark_files_of_its_own_stage():
    """A scope after a discovery in the same process: its run names the files Spark ran for it (and the accounts'
    hours Spark wrote into the lake, which every later run reads), not the discovery's."""
    engine = SparkEngine(SparkSettings(master="local[2]"), Lake("lake"))
    engine._ran = {name: {"duckdb_sha256": "x", "spark_sha256": "y"}
                   for name in ("discover_signals", "discover_pivot_step", "account_hours_rebuild")}
    with engine.stage():  # no Spark session is started by a stage that runs nothing
        pass
    assert set(engine._ran) == {"account_hours_rebuild"}
    assert engine._spark is None
