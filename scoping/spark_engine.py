"""The Spark engine: the scans of the whole lake run on Apache Spark, everything else on DuckDB.

`[case] engine = "spark"` with a `[case] lake`. Spark reads the lake's Parquet files itself (a cluster reads them
where they are), runs the Spark text of a file (`spark_sql.spark_text`) with the same bound values, and returns
its rows, which are few: the windows' events of the compromised accounts, the examined period's events. A DuckDB
file lands them (`spark_land_*.sql`), typed as the store types them, and the same DuckDB SQL goes on from there.
The accounts' hours, when a lake has none (a lake written by another tool), are computed by Spark over every event
and written into the lake.

`[spark] master` is `local[*]` (this machine: Java 17 needed), a cluster master, or a Spark Connect URL
(`sc://host:15002`: the vendor's cluster; `pip install "pyspark[connect]"`). One session serves the process.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import spark_sql
from .config import SparkSettings
from .errors import ConfigError, InputError
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


def _missing_java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is None and not (home and Path(home, "bin", "java").exists())


def session(settings: SparkSettings) -> Any:
    """The process's Spark session (started on first use), or a ConfigError saying what to install."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError('[case] engine = "spark" needs pyspark, which is not installed',
                          hint='pip install "scoping[spark]" (or set engine = "duckdb")') from exc
    remote = settings.master.startswith("sc://")
    if not remote and _missing_java():
        raise ConfigError('[case] engine = "spark" runs Spark on this machine, which needs Java 17: no `java` found',
                          hint="install a Java runtime (Debian: apt-get install openjdk-17-jre-headless) or set "
                               "JAVA_HOME; or name a Spark Connect server in [spark] master")
    builder = SparkSession.builder
    try:
        builder = builder.remote(settings.master) if remote else builder.master(settings.master)
        for key, value in (*BASE_CONFIG, *settings.config):
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
    except ImportError as exc:
        raise ConfigError(f"Spark Connect ({settings.master}) needs the client libraries: {exc}",
                          hint='pip install "pyspark[connect]"') from exc
    except Exception as exc:  # the JVM or the server: py4j and grpc errors have no common base
        raise InputError(f"cannot start Spark ({settings.master}): {str(exc).splitlines()[0] if str(exc) else exc}",
                         hint="check [spark] master and that Java 17 runs (java -version)") from exc
    if not remote:
        spark.sparkContext.setLogLevel("ERROR")
    return spark


@dataclass
class SparkEngine:
    """Runs the Spark-run files on Spark over `lake`, every other file on DuckDB."""

    settings: SparkSettings
    lake: Lake
    _spark: Any = field(default=None, repr=False)
    _ran: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    @property
    def spark(self) -> Any:
        if self._spark is None:
            self._spark = session(self.settings)
        return self._spark

    def _lake_view(self, table: str) -> None:
        reader = self.spark.read
        if table == "events":
            frame = reader.option("basePath", self.lake.path("events")).parquet(self.lake.path("events")).drop("day")
        else:
            frame = reader.parquet(self.lake.path(table))
        frame.createOrReplaceTempView(table)

    def _frame(self, runner: Runner, name: str, params: dict[str, Any]) -> Any:
        spec = spark_sql.SPARK_FILES[name]
        for table in spec.lake_tables:
            self._lake_view(table)
        for table in spec.inputs:  # small DuckDB tables (the incident's accounts), sent as they are
            rows = runner.con.sql(f"SELECT * FROM {table}").to_arrow_table()  # noqa: S608 (a name of SPARK_FILES)
            self.spark.createDataFrame(rows).createOrReplaceTempView(table)
        text = spark_sql.spark_text(name)
        self._ran[name] = spark_sql.texts()[name]
        return self.spark.sql(text, args=params) if params else self.spark.sql(text)

    def run(self, runner: Runner, name: str, **params: Any) -> None:
        spec = spark_sql.SPARK_FILES.get(name)
        if spec is None or spec.lands is None:
            runner.run(name, **params)
            return
        t0 = time.perf_counter()
        try:
            rows = self._frame(runner, name, params).toArrow()
        except ConfigError:
            raise
        except Exception as exc:
            raise InputError(f"Spark failed on {name}: {str(exc).splitlines()[0] if str(exc) else exc}",
                             hint="the Spark text is shown by `scoping queries --spark NAME`") from exc
        runner.note(f"spark:{name}", spark_sql.spark_text(name), params, rows.num_rows, t0)
        with arrow_scan("spark_rows", rows):
            runner.run(spec.lands)

    def ensure_lake_hours(self, runner: Runner) -> None:
        """The accounts' hours, computed by Spark over every event of the lake when the lake has none."""
        if self.lake.has("account_hours"):
            return
        t0 = time.perf_counter()
        target = self.lake.path("account_hours")
        try:
            frame = self._frame(runner, "account_hours_rebuild", {})
            frame.orderBy("hour", "account_id", "source_id", "src_ip", "user_agent").write.mode("overwrite") \
                .parquet(target)
            count = self.spark.read.parquet(target).count()
        except ConfigError:
            raise
        except Exception as exc:
            raise InputError(f"Spark failed on account_hours_rebuild: {str(exc).splitlines()[0] if str(exc) else exc}",
                             hint="check the lake is readable and writable") from exc
        if self.lake.is_folder:
            for folder, _, names in os.walk(target):
                tighten(Path(folder))
                for name in names:
                    tighten(Path(folder) / name)
            self.lake.note_table("account_hours", int(count))
        runner.note("spark:account_hours_rebuild", spark_sql.spark_text("account_hours_rebuild"), {}, int(count), t0)

    def record(self) -> dict[str, Any]:
        import duckdb

        return {"name": "spark", "version": str(self.spark.version), "master": self.settings.master,
                "finished_by": {"name": "duckdb", "version": duckdb.__version__, "tables": "lake"},
                "translation": f"sqlglot {spark_sql.SQLGLOT_VERSION} + rewrites v{spark_sql.REWRITES_VERSION}",
                "files": dict(sorted(self._ran.items()))}
