"""Which engine runs the scans of the event table: DuckDB (embedded, the default) or Apache Spark.

A stage calls `engine.run(runner, name, **params)` (or `engine.frame` for a SELECT) for the files that read every
event or every event of a period (`spark_sql.SPARK_FILES`) and for those made of them; every other file it runs on
DuckDB itself. The DuckDB engine runs the file as it is; the Spark engine (`scoping.spark_engine`) runs its Spark
text over the lake, keeps what later Spark files read as Spark views, and lands what DuckDB files read with a DuckDB
file, so that what follows is the same DuckDB SQL either way. `stage()` spans one stage: what an engine keeps for
its files lives until its end. `record()` is what a run keeps of the engine (in the manifest).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import polars as pl

from .store import Runner


class Engine(Protocol):
    def run(self, runner: Runner, name: str, **params: Any) -> int:
        """Run the shipped file `name`, leaving its table where the files after it read it; the rows it wrote."""

    def frame(self, runner: Runner, name: str, **params: Any) -> pl.DataFrame:
        """The rows of the shipped SELECT `name`."""

    def stage(self) -> contextlib.AbstractContextManager[None]:
        """One stage's span: what the engine keeps for the stage's files is released at its end."""

    def record(self) -> dict[str, Any]:
        """The engine, its version, and where it read the canonical tables."""


def written(rows: list[tuple[Any, ...]]) -> int:
    """The rows a DuckDB statement wrote: CREATE TABLE AS and INSERT return their count as one row of one value."""
    if len(rows) == 1 and len(rows[0]) == 1 and isinstance(rows[0][0], int):
        return int(rows[0][0])
    return 0


@dataclass(frozen=True)
class DuckDBEngine:
    """The embedded engine: every file runs in the case's DuckDB connection."""

    tables: str = "store"  # "store": the case store's tables; "lake": views over the case's Parquet lake

    def run(self, runner: Runner, name: str, **params: Any) -> int:
        return written(runner.run(name, **params))

    def frame(self, runner: Runner, name: str, **params: Any) -> pl.DataFrame:
        return runner.frame(name, **params)

    @contextlib.contextmanager
    def stage(self) -> Iterator[None]:
        yield  # the stage's tables are the connection's temporary tables

    def record(self) -> dict[str, Any]:
        return {"name": "duckdb", "version": duckdb.__version__, "tables": self.tables}
