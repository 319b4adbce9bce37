"""The Spark engine over Spark Connect, with no cluster: a local Spark Connect server (scoping's own
`spark.api.mode = "connect"`, in a process of its own: tests/connect_server.py) and this process as its client, as
an analyst's machine is a cluster's. Each file Spark runs gives DuckDB's rows (discovery's too, file by file);
`scoping run` publishes the embedded run's lists byte for byte; a server that is not there, or a wrong token, is an
error saying what to check."""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from discover_helpers import DISCOVER_FILES, RecordingSparkEngine, assert_same_rows, discover_on_both
from lake_helpers import HOURS_QUERY, attached_copy, lake_without_hours, manifest_engine, published, with_case_settings

from scoping import Case, spark_engine, spark_sql
from scoping.cli import main
from scoping.config import SparkSettings
from scoping.engine import DuckDBEngine
from scoping.errors import ConfigError
from scoping.lake import Lake
from scoping.spark_engine import SparkEngine, is_connect, session

HERE = Path(__file__).parent
STARTUP_SECONDS = 300  # a JVM start on two shared cores under load


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The local Spark Connect server process; `url` waits until it serves."""

    def __init__(self, log: Path) -> None:
        self.token = secrets.token_urlsafe(16)
        self.port = _free_port()
        self.log = log
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(HERE.parent),
                                                                         os.environ.get("PYTHONPATH")) if p)}
        with log.open("w") as err:
            self.process = subprocess.Popen([sys.executable, str(HERE / "connect_server.py"), str(self.port),
                                             self.token], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                            env=env, text=True)
        self.said: dict | None = None

    @property
    def url(self) -> str:
        if self.said is None:  # one line when it serves; nothing if it died; a bounded wait if it hangs
            ready, _, _ = select.select([self.process.stdout], [], [], STARTUP_SECONDS)
            line = self.process.stdout.readline() if ready else ""
            if not line:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"the Spark Connect server did not start within {STARTUP_SECONDS} s:\n"
                            f"{self.log.read_text()[-3000:]}")
            self.said = json.loads(line)
        return f"sc://localhost:{self.port}/;token={self.token}"

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Started first: it boots while the embedded case runs."""
    started = Server(tmp_path_factory.mktemp("connect") / "server.log")
    yield started
    for client in spark_engine._CONNECTED.values():  # this process's sessions, closed while their server runs
        client.stop()
    spark_engine._CONNECTED.clear()
    started.stop()


def _connect_case(url: str) -> str:
    return f'engine = "spark"\n\n[spark]\nmaster = "{url}"\nconfig = {{ "spark.sql.shuffle.partitions" = "2" }}'


def test_scoping_starts_a_spark_connect_server_of_its_own(server, embedded):
    """What the server process said: scoping's spark.api.mode = "connect" gave it a Spark Connect session."""
    assert server.url.startswith("sc://localhost:")
    assert server.said == {"connect": True, "version": server.said["version"], "answer": [42]}
    assert server.said["version"].startswith("4.")


def test_the_windows_extract_over_spark_connect_lands_the_rows_duckdb_computes(server, embedded):
    with Case.open(embedded) as case:
        runner = case.runner
        runner.run("scope_accounts", accounts=list(case.incident().compromised_accounts))
        params = {"read_start": "2025-11-01T00:00:00+00:00", "scope_end": "2025-11-20T00:00:00+00:00"}
        order = "ORDER BY ts, event_key, patient_id NULLS FIRST"
        DuckDBEngine(tables="lake").run(runner, "scope_account_events", **params)
        duck = runner.con.sql(f"SELECT * FROM session_input {order}").pl()
        engine = SparkEngine(SparkSettings(master=server.url), case.lake)
        engine.run(runner, "scope_account_events", **params)
        over_connect = runner.con.sql(f"SELECT * FROM session_input {order}").pl()
        assert is_connect(engine.spark)
    assert duck.height > 100
    assert over_connect.schema == duck.schema
    assert over_connect.equals(duck)


def test_discovery_over_spark_connect_gives_duckdbs_rows_file_by_file(server, embedded):
    """The period's events persisted, the small tables checkpointed and the pivot's loop, over Spark Connect."""
    with Case.open(embedded) as case:
        engine = RecordingSparkEngine(SparkSettings(master=server.url), case.lake)
        compared = discover_on_both(case.runner, case.config, engine)
        assert is_connect(engine.spark)
    for frame in ("accounts", "sessions", "indicators"):
        assert getattr(compared.spark, frame).equals(getattr(compared.duck, frame)), frame
    assert compared.spark_steps == compared.duck_steps
    for name in DISCOVER_FILES:
        for _, duck, over_connect in compared.what_spark_made(name):
            assert_same_rows(duck, over_connect)


def test_scoping_run_over_spark_connect_gives_the_embedded_lists(server, embedded, tmp_path, capsys):
    folder = tmp_path / "over-connect"
    shutil.copytree(embedded, folder, ignore=shutil.ignore_patterns("case.duckdb*", "out", ".duckdb-tmp", "lake"))
    with_case_settings(folder, _connect_case(server.url))
    assert main(["run", str(folder), "--quiet", "--lang", "en"]) == 0
    said = capsys.readouterr().out
    assert "matches the synthetic ground truth (truth/affected_patients.csv): yes" in said
    assert f"engine:            spark {server.said['version']} (Spark Connect" in said
    assert published(folder) == published(embedded)
    engine = manifest_engine(folder)
    assert (engine["name"], engine["api"]) == ("spark", "connect")
    assert engine["master"] == f"sc://localhost:{server.port}/;token=***"
    assert engine["files"]["scope_account_events"] == spark_sql.texts()["scope_account_events"]
    shown = [p for p in (folder / "out").rglob("*") if p.is_file() and server.token.encode() in p.read_bytes()]
    assert shown == []  # the token is in no output, manifest or report
    with Case.open(folder) as case:  # the embedded engine recomputes the run made over Spark Connect: the same bytes
        assert case.verify(recompute=True).ok


def test_spark_connect_computes_the_hours_a_lake_lacks(server, embedded, tmp_path):
    lake_folder = lake_without_hours(embedded, tmp_path / "lake")
    folder = attached_copy(embedded, lake_folder, tmp_path / "case", _connect_case(server.url))
    with Case.open(folder) as case:
        assert not Lake(str(lake_folder)).has("account_hours")
        mine = case.sql(HOURS_QUERY)  # attaching the lake had the server write its hours
        assert Lake(str(lake_folder)).has("account_hours")
        assert is_connect(case.engine.spark)
    with Case.open(embedded) as case:
        theirs = case.sql(HOURS_QUERY)
    assert mine.height > 100 and mine.equals(theirs)
    assert [p for p in (lake_folder / "account_hours").rglob("*") if p.stat().st_mode & 0o077] == []


def test_a_spark_connect_server_that_is_not_there_is_said_in_seconds(embedded, tmp_path, capsys):
    folder = attached_copy(embedded, embedded / "lake", tmp_path / "nowhere",
                           _connect_case(f"sc://localhost:{_free_port()}/;token=not-shown"))
    t0 = time.perf_counter()
    assert main(["scope", str(folder)]) == 3
    err = capsys.readouterr().err
    assert time.perf_counter() - t0 < 60
    assert "cannot start Spark (sc://localhost:" in err and "token=***" in err and "Connection refused" in err
    assert "that the Spark Connect server runs" in err
    assert "not-shown" not in err and "Traceback" not in err


def test_a_wrong_token_is_refused_by_the_server_and_never_shown(server, embedded, tmp_path, capsys):
    wrong = server.url.replace(server.token, "wrong-token")
    folder = attached_copy(embedded, embedded / "lake", tmp_path / "wrong-token", _connect_case(wrong))
    assert main(["scope", str(folder)]) == 3
    err = capsys.readouterr().err
    assert "cannot start Spark" in err and "its token" in err
    assert "wrong-token" not in err and server.token not in err and "Traceback" not in err


def test_a_setting_the_server_owns_is_a_configuration_error(server, embedded, tmp_path, capsys):
    folder = attached_copy(embedded, embedded / "lake", tmp_path / "static",
                           _connect_case(server.url).replace('"spark.sql.shuffle.partitions" = "2"',
                                                             '"spark.driver.memory" = "4g"'))
    assert main(["scope", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "[spark].config sets spark.driver.memory, which the Spark Connect server" in err
    assert "spark-defaults.conf" in err and server.token not in err and "Traceback" not in err


def test_spark_connect_cannot_start_beside_a_classic_session(spark):
    """A notebook that ran the classic engine cannot then start scoping's local Spark Connect driver in its process."""
    with pytest.raises(ConfigError, match="without Spark Connect already runs in this process"):
        session(SparkSettings(master="local[2]", config=(("spark.api.mode", "connect"),
                                                         ("spark.sql.shuffle.partitions", "2"))))

