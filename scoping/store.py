"""The case store: one DuckDB file per case, and the runner that traces every statement.

Every statement scoping runs goes through `Runner.run`, which records the query name, the SHA-256
of its text, its parameters, the row count and the time taken. The manifest is written from that
trace, so an auditor can see exactly which SQL produced each output.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from . import queries, schema
from .errors import ConfigError, InputError, ScopingError
from .private import private_files, tighten


@dataclass
class TraceEntry:
    name: str
    sql_sha256: str
    params: dict[str, Any]
    rows: int | None
    seconds: float


@dataclass
class Runner:
    """Executes named queries and generated SQL with bound parameters, keeping a trace."""

    con: duckdb.DuckDBPyConnection
    trace: list[TraceEntry] = field(default_factory=list)
    sql_texts: dict[str, str] = field(default_factory=dict)
    _depth: int = field(default=0, repr=False)

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction around a block: all of it lands, or none of it (nested blocks join the outer one).

        Files DuckDB creates meanwhile (its write-ahead log, spill files) are private to the owner."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with private_files():
            try:
                self.con.execute("BEGIN TRANSACTION")
            except duckdb.Error as exc:
                raise map_duckdb_error(exc, "begin") from exc
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
                raise
            self._depth = 0
            try:
                self.con.execute("COMMIT")
            except duckdb.Error as exc:
                with contextlib.suppress(duckdb.Error):
                    self.con.execute("ROLLBACK")
                raise map_duckdb_error(exc, "commit") from exc

    def _record(self, name: str, sql: str, params: dict[str, Any], rows: int | None, t0: float) -> None:
        sha = hashlib.sha256(sql.encode()).hexdigest()
        self.sql_texts[name] = sql
        self.trace.append(TraceEntry(name, sha, _jsonable(params), rows, time.perf_counter() - t0))

    def note(self, name: str, sql: str, params: dict[str, Any], rows: int | None, t0: float) -> None:
        """Trace a statement another engine ran (Spark): its name, text, parameters and row count."""
        self._record(name, sql, params, rows, t0)

    def execute(self, name: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run SQL (generated or shipped) and fetch its rows."""
        t0 = time.perf_counter()
        rows: list[tuple[Any, ...]] = []
        try:
            with private_files():
                for statement in _statements(sql):
                    used = {k: v for k, v in (params or {}).items() if re.search(rf"\${k}(?!\w)", statement)}
                    rows = self.con.execute(statement, used).fetchall()
        except duckdb.Error as exc:
            raise map_duckdb_error(exc, name) from exc
        self._record(name, sql, params or {}, len(rows), t0)
        return rows

    def run(self, name: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run the shipped query `name` with its declared parameters."""
        q = queries.get(name)
        return self.execute(name, q.text, q.bind(params))

    def frame(self, name: str, **params: Any) -> pl.DataFrame:
        """Run a shipped SELECT and return it as a polars DataFrame."""
        q = queries.get(name)
        t0 = time.perf_counter()
        try:
            with private_files():
                df = self.con.sql(q.text, params=q.bind(params)).pl()
        except duckdb.Error as exc:
            raise map_duckdb_error(exc, name) from exc
        assert isinstance(df, pl.DataFrame)
        self._record(name, q.text, params, df.height, t0)
        return df

    def check(self, name: str, **params: Any) -> None:
        """Run an invariant check; any row it returns stops the run."""
        from .errors import CheckFailed

        q = queries.get(name)
        t0 = time.perf_counter()
        try:
            with private_files():
                cur = self.con.execute(q.text, q.bind(params))
                rows = cur.fetchall()
        except duckdb.Error as exc:
            raise map_duckdb_error(exc, name) from exc
        cols = [d[0] for d in cur.description or []]
        self._record(name, q.text, params, len(rows), t0)
        if rows:
            raise CheckFailed(name, rows, cols)


@contextlib.contextmanager
def arrow_scan(name: str, table: pa.Table | pl.DataFrame) -> Iterator[None]:
    """Let the queries a Runner runs read `table` as `name`, without a catalog entry.

    DuckDB finds it by a replacement scan of this module's globals (the frame of `Runner.execute`).
    `con.register` would create a view whose dropped entry, inside the ingest's transaction, keeps every
    batch's Arrow data alive until commit: memory would grow with the file."""
    globals()[name] = table
    try:
        yield
    finally:
        globals().pop(name, None)


frame_scan = arrow_scan  # a polars DataFrame is read the same way


def _statements(sql: str) -> list[str]:
    """Split a shipped file into statements: by convention each ends with ';' at the end of a line."""
    parts = [p.strip() for p in re.split(r";[ \t]*(?:\n|$)", sql)]
    return [p for p in parts if p and not all(ln.strip().startswith("--") or not ln.strip()
                                             for ln in p.splitlines())]


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(json.dumps(params, default=str, sort_keys=True))
    return value


def map_duckdb_error(exc: duckdb.Error, name: str) -> ScopingError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, duckdb.OutOfMemoryException):
        return InputError(f"{name}: DuckDB ran out of memory: {text}",
                          hint="raise [case] memory_limit in case.toml or free disk for temp_directory")
    if isinstance(exc, duckdb.IOException):
        return InputError(f"{name}: {text}", hint="check the disk has space and the folder is writable")
    if isinstance(exc, (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException)):
        return ConfigError(f"{name}: {text}", hint="check the mapping or the case store")
    return InputError(f"{name}: {text}")


def connect(path: Path, *, memory_limit: str | None = None, threads: int | None = None,
            read_only: bool = False, max_temp_directory_size: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the case store with the settings every stage relies on (UTC, spill folder, limits); the store file
    and its write-ahead log are readable by their owner only."""
    try:
        with private_files():
            con = duckdb.connect(str(path), read_only=read_only)
        for f in (path, path.with_name(path.name + ".wal")):
            tighten(f)
    except duckdb.IOException as exc:
        msg = str(exc).splitlines()[0]
        if "lock" in msg.lower():
            raise InputError(f"the case store {path.name} is in use by another process",
                             hint="wait for the other scoping command to finish, then run again") from exc
        raise InputError(f"cannot open the case store {path}: {msg}") from exc
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    # never download an extension while a case runs (a lake at s3:// would fetch httpfs): one installed beforehand is
    # still loaded when needed, a missing one is an error naming it
    con.execute("SET autoinstall_known_extensions = false")
    try:  # no progress bar of DuckDB's own (scoping prints its own); in Jupyter DuckDB may refuse the setting
        con.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        pass
    tmp = path.parent / ".duckdb-tmp"
    con.execute(f"SET temp_directory = '{_sql_string(str(tmp))}'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{_sql_string(memory_limit)}'")
    if max_temp_directory_size:
        con.execute(f"SET max_temp_directory_size = '{_sql_string(max_temp_directory_size)}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    load_macros_and_vocabulary(con)
    return con


def load_macros_and_vocabulary(con: duckdb.DuckDBPyConnection) -> None:
    """What every connection scoping runs its SQL files in needs: the macros and the action vocabulary."""
    con.execute(queries.get("store_macros").text)
    vocabulary = queries.get("store_vocabulary")
    con.execute(vocabulary.text, vocabulary.bind(schema.vocabulary_parameters()))


def _sql_string(value: str) -> str:
    """A SQL string literal body for SET statements, which take no bound parameters."""
    if "\x00" in value:
        raise ConfigError(f"setting value {value!r} contains a NUL byte")
    return value.replace("'", "''")


def ensure_schema(runner: Runner) -> None:
    """The store's tables, created when missing; a store of an earlier version gains its newer columns, and its
    content digests are narrowed to the 64 bits this version stores (once)."""
    runner.run("store_schema")
    wide = runner.execute("store_digest_type", "SELECT count(*) FROM duckdb_columns() WHERE database_name = "
                                               "current_database() AND table_name = 'events' AND column_name = "
                                               "'content_digest' AND data_type = 'UHUGEINT'")[0][0]
    if wide:
        runner.run("store_digest_64")
