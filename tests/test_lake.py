"""The canonical lake: the store's tables as Parquet partitioned by day, and a case attached to it gives the same
lists, sessions and summary, byte for byte."""

from __future__ import annotations

import shutil
import stat

import pyarrow.parquet as pq
import pytest
from helpers import run_case
from lake_helpers import attached_copy, manifest_engine, published, scope_and_publish, with_case_settings

from scoping import Case
from scoping.cli import main
from scoping.errors import ConfigError


@pytest.fixture(scope="module")
def store_and_lake(world_factory, tmp_path_factory):
    """One world scoped from its store, then with a lake written by ingest and attached."""
    import shutil

    base = tmp_path_factory.mktemp("lake")
    store = base / "store"
    shutil.copytree(world_factory(seed=7, scale=0.3), store,
                    ignore=shutil.ignore_patterns("case.duckdb*", "out", ".duckdb-tmp"))
    run_case(store)
    lake_case = base / "lake_case"
    shutil.copytree(store, lake_case, ignore=shutil.ignore_patterns("case.duckdb*", "out", ".duckdb-tmp"))
    with_case_settings(lake_case, 'lake = "lake"')
    run_case(lake_case)  # ingest writes the lake; scope reads it
    return store, lake_case


def test_a_case_reading_its_lake_publishes_the_stores_lists(store_and_lake):
    store, lake_case = store_and_lake
    assert published(lake_case) == published(store)
    assert manifest_engine(lake_case)["tables"] == "lake"
    assert manifest_engine(store)["tables"] == "store"


def test_a_case_attached_to_a_lake_without_a_store_of_its_own(store_and_lake, tmp_path):
    store, lake_case = store_and_lake
    other = attached_copy(lake_case, lake_case / "lake", tmp_path / "attached")
    scope_and_publish(other)
    assert published(other) == published(store)
    with Case.open(other) as case:  # its store holds no event: every one is read from the lake
        assert case.con.execute('SELECT count(*) FROM "case".main.events').fetchone() == (0,)
        assert case.con.execute("SELECT count(*) FROM events").fetchone()[0] > 10_000
        assert case.discover().accounts.height > 0


def test_discovery_reads_the_lake_alike(store_and_lake):
    store, lake_case = store_and_lake
    found = []
    for folder in (store, lake_case):
        with Case.open(folder) as case:
            found.append(case.discover().files())
    assert found[0] == found[1]


def test_the_lake_has_a_fixed_schema_days_and_time_order(store_and_lake):
    _, lake_case = store_and_lake
    lake = lake_case / "lake"
    days = sorted(p.name for p in (lake / "events").iterdir())
    assert days and all(d.startswith("day=20") for d in days)
    for day in days:
        (part,) = (lake / "events" / day).glob("*.parquet")
        table = pq.read_table(part)
        ts = table.column("ts").to_pylist()
        assert ts == sorted(ts) and {t.strftime("day=%Y-%m-%d") for t in ts} == {day}
        types = {f.name: str(f.type) for f in table.schema}
        assert types["ts"] == "timestamp[us, tz=UTC]"
        assert types["source_line"] == "int64" and types["content_digest_hex"] == "string"
    for path in lake.rglob("*.parquet"):
        schema = pq.read_schema(path)
        for f in schema:  # BIGINT, never HUGEINT (which Parquet keeps as a DOUBLE)
            assert not str(f.type).startswith(("double", "float", "decimal", "fixed_size_binary")), (path, f)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    hours = pq.read_table(next((lake / "account_hours").glob("*.parquet")))
    assert str(hours.schema.field("hour").type) == "timestamp[us, tz=UTC]"


def test_the_lake_command_writes_the_lake_of_the_store(store_and_lake, capsys):
    _, lake_case = store_and_lake
    assert main(["lake", str(lake_case)]) == 0
    assert "lake written" in capsys.readouterr().out
    assert sorted(p.name for p in lake_case.iterdir() if p.name.startswith(".lake"))  == []


def test_a_lake_needs_a_setting_and_a_folder_of_its_own(fresh_world, capsys):
    folder = fresh_world(seed=7, scale=0.3)
    assert main(["lake", str(folder)]) == 2
    assert "[case] lake is not set" in capsys.readouterr().err
    (folder / "notes").mkdir()
    (folder / "notes" / "mine.txt").write_text("x")
    with_case_settings(folder, 'lake = "notes"')
    with Case.open(folder) as case, pytest.raises(ConfigError, match="is not a lake"):
        case.ingest(progress=False)
    assert (folder / "notes" / "mine.txt").read_text() == "x"


def test_an_object_store_lake_is_read_not_written(fresh_world):
    folder = fresh_world(seed=7, scale=0.3)
    with_case_settings(folder, 'lake = "s3://bucket/cases/weda"')
    with Case.open(folder) as case, pytest.raises(ConfigError, match="lake folder only"):
        case.ingest(progress=False)


@pytest.fixture
def lake_at_a_uri(store_and_lake):
    """The lake, copied into fsspec's memory file system: a lake at a URI, with no local path and no network."""
    import fsspec

    _, lake_case = store_and_lake
    fs = fsspec.filesystem("memory")
    uri = "memory://lakes/weda"
    fs.put(str(lake_case / "lake"), uri, recursive=True)
    assert fs.isfile(f"{uri}/_lake.json") and fs.glob(f"{uri}/events/day=*/*.parquet")
    yield uri
    fs.rm(uri, recursive=True)


def _uri_case(lake_case, folder, settings: str):
    shutil.copytree(lake_case, folder, ignore=shutil.ignore_patterns("case.duckdb*", "out", ".duckdb-tmp", "lake"))
    with_case_settings(folder, settings)
    return folder


def test_a_lake_at_a_uri_read_through_fsspec_publishes_the_stores_lists(store_and_lake, lake_at_a_uri, tmp_path,
                                                                         capsys):
    import fsspec

    store, lake_case = store_and_lake
    folder = _uri_case(lake_case, tmp_path / "uri", f'lake = "{lake_at_a_uri}"\nlake_filesystem = "fsspec"')
    assert main(["scope", str(folder)]) == 0
    assert published(folder) == published(store)
    assert manifest_engine(folder)["tables"] == "lake"
    with Case.open(folder) as case:  # every event is read from the URI, through the registered file system
        assert case.con.execute('SELECT count(*) FROM "case".main.events').fetchone() == (0,)
        assert case.con.execute("SELECT count(*) FROM events").fetchone()[0] > 10_000
        assert "memory" in case.con.list_filesystems()
        assert case.discover().accounts.height > 0
    capsys.readouterr()
    fsspec.filesystem("memory").rm(f"{lake_at_a_uri}/events", recursive=True)  # a lake that cannot be read whole
    assert main(["scope", str(folder)]) == 3
    err = capsys.readouterr().err
    assert f"cannot read the lake at {lake_at_a_uri}: IO Error: No files found" in err
    assert "check [case] lake" in err and "Traceback" not in err


def _httpfs_installed() -> bool:
    import duckdb

    rows = duckdb.sql("SELECT installed FROM duckdb_extensions() WHERE extension_name = 'httpfs'").fetchall()
    return bool(rows and rows[0][0])


@pytest.mark.parametrize(("settings", "said", "hint"), [
    ('lake = "s3://bucket/cases/weda"', "DuckDB reads s3:// with its httpfs extension, which is not installed here",
     "INSTALL httpfs"),
    ('lake = "s3://bucket/cases/weda"\nlake_filesystem = "fsspec"',
     "fsspec reads s3:// with a package that is not installed: Install s3fs to access S3", "pip install"),
    ('lake = "memory://nowhere/weda"\nlake_filesystem = "fsspec"',
     "no scoping lake at memory://nowhere/weda: it holds no _lake.json", "copied whole"),
    ('lake = "nosuch://bucket/weda"\nlake_filesystem = "fsspec"', "fsspec knows no file system for nosuch://",
     "check the scheme"),
], ids=["no-httpfs", "no-s3fs", "no-lake-there", "unknown-scheme"])
def test_a_lake_at_a_uri_that_cannot_be_read_is_a_configuration_error(store_and_lake, tmp_path, capsys, settings, said,
                                                                      hint):
    import importlib.util

    if "s3://" in settings and (_httpfs_installed() or importlib.util.find_spec("s3fs")):
        pytest.skip("a reader of s3:// is installed here: the case would reach out to the network")
    _, lake_case = store_and_lake
    folder = _uri_case(lake_case, tmp_path / "uri", settings)
    assert main(["scope", str(folder)]) == 2
    err = capsys.readouterr().err
    assert said in err and hint in err and "Traceback" not in err


def test_fsspec_missing_is_said(store_and_lake, tmp_path, monkeypatch):
    _, lake_case = store_and_lake
    folder = _uri_case(lake_case, tmp_path / "uri", 'lake = "memory://lakes/weda"\nlake_filesystem = "fsspec"')
    monkeypatch.setitem(__import__("sys").modules, "fsspec", None)
    with Case.open(folder) as case, pytest.raises(ConfigError, match="needs fsspec, which is not installed"):
        case.scope()


def test_a_lake_of_an_earlier_version_is_refused_by_the_stages_and_written_again_by_scoping_lake(store_and_lake,
                                                                                                 tmp_path, capsys):
    """A lake of an earlier format (its content digests were 128 bits): every stage that reads events says to write
    it again; `scoping lake` does (it never attaches the old lake first), and `scoping verify` checks the outputs,
    which need no lake."""
    import json

    _, lake_case = store_and_lake
    folder = tmp_path / "case"
    shutil.copytree(lake_case, folder)
    marker = folder / "lake" / "_lake.json"
    info = json.loads(marker.read_text())
    marker.write_text(json.dumps({**info, "version": 1}))
    assert main(["scope", str(folder)]) == 2
    assert "write the lake again: scoping lake CASE" in capsys.readouterr().err
    assert main(["verify", str(folder)]) == 0
    assert "all match the manifest" in capsys.readouterr().out
    assert main(["lake", str(folder)]) == 0
    assert json.loads(marker.read_text())["version"] == info["version"]
    capsys.readouterr()
    scope_and_publish(folder)
    assert published(folder) == published(lake_case)


def test_a_lake_missing_a_day_is_refused_never_read_short(store_and_lake, tmp_path, capsys):
    """A day's folder lost from the lake (or a file added): its rows no longer match what `_lake.json` says was
    written, and every stage stops, where it would have published shorter lists that verify as matching."""
    _, lake_case = store_and_lake
    folder = tmp_path / "case"
    shutil.copytree(lake_case, folder)
    days = sorted((folder / "lake" / "events").iterdir())
    shutil.rmtree(days[len(days) // 2])
    assert main(["scope", str(folder)]) != 0
    said = capsys.readouterr().err
    assert "does not hold what was written into it" in said and "events:" in said
    assert main(["lake", str(folder)]) == 0  # written again from the store: read whole again
    capsys.readouterr()
    scope_and_publish(folder)
    assert published(folder) == published(lake_case)
