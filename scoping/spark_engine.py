"""The Spark engine: the scans of the lake run on Apache Spark, and what is made of them; the rest on DuckDB.

`[case] engine = "spark"` with a `[case] lake`. Spark reads the lake's Parquet files itself (a cluster reads them
where they are) and runs the Spark text of a file (`spark_sql.spark_text`) with the same bound values. Scope's
extract of the windows comes back whole (the compromised accounts' events: few). Discovery's period stays in Spark:
its events, baseline, signals and pivot are Spark views, kept for the stage (`stage()`), and only the signals, the
pivot's rows, the events of the accounts with a signal and the indicators come back. A DuckDB file lands what comes
back (`spark_land_*.sql`), typed as the store types it, and the same DuckDB SQL goes on from there. The accounts'
hours, when a lake has none (a lake written by another tool), are computed by Spark over every event and written
into the lake.

`[spark] master` is `local[*]` (this machine: Java 17 needed), a cluster master, or a Spark Connect URL
(`sc://host:15002/;token=…`: a server such as the vendor's cluster; `pip install "pyspark[connect]"`, no Java). With
Spark's own `spark.api.mode = "connect"` in `[spark] config` and a local or cluster master, scoping starts the driver
in this process as a Spark Connect server (loopback only, a free port, a token of its own) and is its client, as it is
a cluster's: the Connect path, tested end to end without a cluster (tests/test_spark_connect.py). Over Spark Connect
the session sets only `spark.sql.*` settings; the others are the server's, and one in `[spark] config` is a
ConfigError. A server that does not answer is said in seconds, not after the client's ten minutes of retries. The
token never reaches a message or the manifest (`redacted`). One session per master serves the process.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from . import spark_sql
from .config import SparkSettings
from .engine import written
from .errors import ConfigError, InputError, ScopingError
from .lake import Lake
from .private import tighten
from .store import Runner, arrow_scan

BASE_CONFIG = (
    ("spark.app.name", "scoping"),
    ("spark.ui.enabled", "false"),
    ("spark.ui.showConsoleProgress", "false"),
    ("spark.sql.session.timeZone", "UTC"),
    ("spark.sql.shuffle.partitions", "8"),
    ("spark.hadoop.fs.permissions.umask-mode", "077"),  # files Spark writes are its owner's only
    ("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS"),  # the lake's type: UTC microseconds, not INT96
)
API_MODE = "spark.api.mode"  # Spark's own setting: "connect" makes the driver a Spark Connect server, and its client
TOKEN_KEY = "spark.connect.authenticate.token"
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
_TOKEN = re.compile(r"(;\s*token=)[^;]*")
_CONNECTED: dict[str, Any] = {}  # one Spark Connect session per server for the process


def _missing_java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is None and not (home and Path(home, "bin", "java").exists())


def redacted(master: str) -> str:
    """A master as it may be shown or recorded: a Spark Connect URL without its token."""
    return _TOKEN.sub(r"\1***", master)


def is_connect(spark: Any) -> bool:
    """A Spark Connect session (a client of a server), rather than a driver in this process."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def session(settings: SparkSettings) -> Any:
    """The process's Spark session (started on first use), or a ConfigError saying what to install.

    `sc://host:port` is a Spark Connect server's: this process is its client (no Java here). Any other master starts
    a driver in this process; with `spark.api.mode = "connect"` that driver serves Spark Connect on a port of its own
    (loopback only, a token of its own) and scoping is its client, exactly as it is a cluster's."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError('[case] engine = "spark" needs pyspark, which is not installed',
                          hint='pip install "scoping[spark]" (or set engine = "duckdb")') from exc
    where = redacted(settings.master)
    remote = settings.master.startswith("sc://")
    config = dict(settings.config)
    connect = config.pop(API_MODE, "classic") == "connect"
    if not remote and _missing_java():
        raise ConfigError('[case] engine = "spark" runs Spark on this machine, which needs Java 17: no `java` found',
                          hint="install a Java runtime (Debian: apt-get install openjdk-17-jre-headless) or set "
                               "JAVA_HOME; or name a Spark Connect server in [spark] master")
    try:
        if remote:
            return _connect(settings.master, {**_runtime(dict(BASE_CONFIG)), **config})
        if connect:
            return _local_connect(SparkSession, settings.master, config)
        return _driver(SparkSession, settings.master, config)
    except ImportError as exc:
        raise ConfigError(f"Spark Connect ({where}) needs the client libraries: {exc}",
                          hint='pip install "pyspark[connect]"') from exc
    except ScopingError:
        raise
    except Exception as exc:  # the JVM or the server: py4j and grpc errors have no common base
        hint = ("check [spark] master (sc://host:port), that the Spark Connect server runs, that this machine reaches "
                "it, and its token (;token=… or SPARK_CONNECT_AUTHENTICATE_TOKEN)" if remote else
                "check [spark] master and that Java 17 runs (java -version)")
        raise InputError(f"cannot start Spark ({where}): {_message(exc)}", hint=hint) from exc


def _driver(builder_of: Any, master: str, config: dict[str, str]) -> Any:
    """A driver in this process (a local or a cluster master)."""
    builder = builder_of.builder.master(master)
    for key, value in (*BASE_CONFIG, *config.items()):
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _local_connect(builder_of: Any, master: str, config: dict[str, str]) -> Any:
    """A driver in this process serving Spark Connect on loopback, at a free port, with a token; its client.

    (pyspark's own `spark.api.mode = "connect"` serves port 15002 and its client goes there: a second process on
    the machine would find the first one's server.)"""
    token = config.pop(TOKEN_KEY, None) or secrets.token_urlsafe(32)
    driver = _driver(builder_of, master, {"spark.connect.grpc.binding.address": "127.0.0.1",
                                          "spark.connect.grpc.binding.port": "0", **config,
                                          "spark.plugins": CONNECT_PLUGIN, TOKEN_KEY: token})
    started = driver.sparkContext.getConf()
    if CONNECT_PLUGIN not in (started.get("spark.plugins") or ""):
        raise ConfigError("a Spark session without Spark Connect already runs in this process: "
                          "spark.api.mode = \"connect\" cannot start its server beside it",
                          hint="start a new Python process (restart the notebook's kernel), or leave out "
                               "spark.api.mode")
    service = getattr(driver._jvm, "org.apache.spark.sql.connect.service.SparkConnectService$")
    port = int(getattr(service, "MODULE$").localPort())
    return _connect(f"sc://localhost:{port}/;token={started.get(TOKEN_KEY)}",
                    _runtime({**dict(BASE_CONFIG), **config}))


def _connect(url: str, config: dict[str, str]) -> Any:
    """The process's Spark Connect session with the server at `url`, with the session settings `config`."""
    with warnings.catch_warnings():  # pandas-on-Spark's notice: scoping exchanges Arrow tables, never pandas frames
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        from pyspark.sql.connect.client.retries import DefaultPolicy
        from pyspark.sql.connect.session import SparkSession as ConnectSession
    spark = _CONNECTED.get(url)
    if spark is None or spark.is_stopped:
        spark = ConnectSession.builder.remote(url).create()
        usual = spark.client.get_retry_policies()
        spark.client.set_retry_policies([DefaultPolicy(max_retries=3, max_backoff=2000)])
        # the first call: a server that is not there is said in seconds (the usual retries wait 10 minutes); the
        # client's own note that it gave up (on the call, and again on stop) is not printed: the error says more
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\[RETRIES_EXCEEDED\]")
            try:
                spark.version  # noqa: B018
            except Exception:
                spark.stop()
                raise
        spark.client.set_retry_policies(usual)
        _CONNECTED[url] = spark
    for key, value in config.items():
        try:
            spark.conf.set(key, value)
        except Exception as exc:
            if getattr(exc, "getCondition", lambda: None)() != "CANNOT_MODIFY_CONFIG":
                raise
            raise ConfigError(f"[spark].config sets {key}, which the Spark Connect server ({redacted(url)}) sets "
                              f"itself", hint="set it where the server is started (its spark-defaults.conf, the "
                                              "cluster's settings), or remove it from [spark] config") from exc
    return spark


def _runtime(config: dict[str, str]) -> dict[str, str]:
    """The settings a Spark Connect session may set itself (the others are its server's)."""
    return {k: v for k, v in config.items() if k.startswith("spark.sql.")}


def _message(exc: BaseException) -> str:
    """The line of a py4j, grpc or Spark error that says what happened."""
    text = str(exc)
    details = re.search(r'details = "([^"]*)"', text)
    if details:
        return redacted(details.group(1))
    return redacted(text.strip().splitlines()[0]) if text.strip() else type(exc).__name__


@dataclass
class SparkEngine:
    """Runs the Spark-run files on Spark over `lake`, every other file on DuckDB."""

    settings: SparkSettings
    lake: Lake
    _spark: Any = field(default=None, repr=False)
    _ran: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _kept: dict[str, Any] = field(default_factory=dict, repr=False)       # the stage's views, by table
    _persisted: list[Any] = field(default_factory=list, repr=False)       # what to release with the stage

    @property
    def spark(self) -> Any:
        if self._spark is None:
            self._spark = session(self.settings)
        return self._spark

    def _lake_view(self, table: str) -> None:
        reader = self.spark.read
        if table == "events":
            frame = reader.option("basePath", self.lake.uri("events")).parquet(self.lake.uri("events")).drop("day")
        else:
            frame = reader.parquet(self.lake.uri(table))
        frame.createOrReplaceTempView(table)

    def _frame(self, runner: Runner, name: str, params: dict[str, Any]) -> Any:
        spec = spark_sql.SPARK_FILES[name]
        missing = [view for view in spec.views if view not in self._kept]
        if missing:
            raise ConfigError(f"{name} reads {', '.join(missing)}, which Spark has not computed in this stage",
                              hint="run the Spark files of a stage in their order")
        for table in spec.lake_tables:
            self._lake_view(table)
        for table in spec.inputs:  # small DuckDB tables (the incident's accounts), sent as they are
            rows = runner.con.sql(f"SELECT * FROM {table}").to_arrow_table()  # noqa: S608 (a name of SPARK_FILES)
            self.spark.createDataFrame(rows).createOrReplaceTempView(table)
        text = spark_sql.spark_text(name)
        self._ran[name] = spark_sql.texts()[name]
        return self.spark.sql(text, args=params) if params else self.spark.sql(text)

    def _keep(self, name: str, frame: Any) -> tuple[Any, int]:
        """Keep a file's rows in Spark as the view of the table it writes, computed once: its rows, and how many.

        The period's events are persisted (released with the stage). Every smaller table is checkpointed: its lineage
        cut, the files after it read its rows rather than its plan (Spark does not always find a persisted plan
        inside another, and the pivot's loop would repeat the plan of every step before), and Spark frees it once
        no view holds it. Rows appended (a step of the pivot) add one such leaf to the view."""
        table, appends = spark_sql.target(name)
        if name == "discover_events":
            frame = frame.persist()
            self._persisted.append(frame)
        else:
            frame = frame.localCheckpoint()
        rows = int(frame.count())
        view = self._kept[table].unionByName(frame) if appends else frame
        self._kept[table] = view
        view.createOrReplaceTempView(table)
        return frame, rows

    def _release(self) -> None:
        for table in self._kept:
            self.spark.catalog.dropTempView(table)
        for frame in self._persisted:
            frame.unpersist()
        self._kept.clear()
        self._persisted.clear()

    @contextlib.contextmanager
    def stage(self) -> Iterator[None]:
        """One stage (a scope, a discovery): its views, and the files it ran, which its run records (the accounts'
        hours Spark wrote into the lake stay recorded: every later run reads them)."""
        self._release()
        self._ran = {k: v for k, v in self._ran.items() if k == "account_hours_rebuild"}
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # Spark may be what failed: its error is the one to see
                self._release()
            raise
        self._release()

    def run(self, runner: Runner, name: str, **params: Any) -> int:
        spec = spark_sql.SPARK_FILES.get(name)
        if spec is None or not (spec.keeps or spec.lands):
            return written(runner.run(name, **params))
        if spec.also_duckdb:
            runner.run(name, **params)
        t0 = time.perf_counter()
        try:
            frame = self._frame(runner, name, params)
            rows = 0
            if spec.keeps:
                frame, rows = self._keep(name, frame)
            if spec.lands:
                arrow = frame.toArrow()
                rows = arrow.num_rows
        except ScopingError:
            raise
        except Exception as exc:
            raise InputError(f"Spark failed on {name}: {_message(exc)}",
                             hint="the Spark text is shown by `scoping queries --spark NAME`") from exc
        runner.note(f"spark:{name}", spark_sql.spark_text(name), params, rows, t0)
        if spec.lands:
            with arrow_scan("spark_rows", arrow):
                runner.run(spec.lands)
        return rows

    def frame(self, runner: Runner, name: str, **params: Any) -> pl.DataFrame:
        if name not in spark_sql.SPARK_FILES:
            return runner.frame(name, **params)
        t0 = time.perf_counter()
        try:
            arrow = self._frame(runner, name, params).toArrow()
        except ScopingError:
            raise
        except Exception as exc:
            raise InputError(f"Spark failed on {name}: {_message(exc)}",
                             hint="the Spark text is shown by `scoping queries --spark NAME`") from exc
        runner.note(f"spark:{name}", spark_sql.spark_text(name), params, arrow.num_rows, t0)
        result = pl.from_arrow(arrow)
        assert isinstance(result, pl.DataFrame)
        return result

    def ensure_lake_hours(self, runner: Runner) -> None:
        """The accounts' hours, computed by Spark over every event of the lake when the lake has none."""
        if self.lake.has("account_hours"):
            return
        t0 = time.perf_counter()
        target = self.lake.uri("account_hours")
        try:
            frame = self._frame(runner, "account_hours_rebuild", {})
            frame.orderBy("hour", "account_id", "source_id", "src_ip", "user_agent").write.mode("overwrite") \
                .parquet(target)
            count = self.spark.read.parquet(target).count()
        except ScopingError:
            raise
        except Exception as exc:
            raise InputError(f"Spark failed on account_hours_rebuild: {_message(exc)}",
                             hint="check the lake is readable and writable") from exc
        if self.lake.is_folder:
            for folder, _, names in os.walk(self.lake.path("account_hours")):
                tighten(Path(folder))
                for name in names:
                    tighten(Path(folder) / name)
            self.lake.note_table("account_hours", int(count))
        runner.note("spark:account_hours_rebuild", spark_sql.spark_text("account_hours_rebuild"), {}, int(count), t0)

    def record(self) -> dict[str, Any]:
        import duckdb

        return {"name": "spark", "version": str(self.spark.version), "master": redacted(self.settings.master),
                "api": "connect" if is_connect(self.spark) else "classic",
                "finished_by": {"name": "duckdb", "version": duckdb.__version__, "tables": "lake"},
                "translation": f"sqlglot {spark_sql.SQLGLOT_VERSION} + rewrites v{spark_sql.REWRITES_VERSION}",
                "files": dict(sorted(self._ran.items()))}
