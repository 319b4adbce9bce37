"""Which engine runs the scans of the whole event table: DuckDB (embedded, the default) or Apache Spark.

A stage calls `engine.run(runner, name, **params)` for the files that scan everything (`spark_sql.SPARK_FILES`);
every other file it runs on DuckDB itself. The DuckDB engine runs the file as it is; the Spark engine
(`scoping.spark_engine`) runs its Spark text over the lake and lands the rows with a DuckDB file, so that what
follows is the same DuckDB SQL either way. `record()` is what a run keeps of the engine (in the manifest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import duckdb

from .store import Runner


class Engine(Protocol):
    def run(self, runner: Runner, name: str, **params: Any) -> None:
        """Run the shipped file `name`, leaving its table in the DuckDB connection of `runner`."""

    def record(self) -> dict[str, Any]:
        """The engine, its version, and where it read the canonical tables."""


@dataclass(frozen=True)
class DuckDBEngine:
    """The embedded engine: every file runs in the case's DuckDB connection."""

    tables: str = "store"  # "store": the case store's tables; "lake": views over the case's Parquet lake

    def run(self, runner: Runner, name: str, **params: Any) -> None:
        runner.run(name, **params)

    def record(self) -> dict[str, Any]:
        return {"name": "duckdb", "version": duckdb.__version__, "tables": self.tables}
