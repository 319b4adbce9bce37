"""The Spark text of the files Spark runs: one place, derived from the DuckDB files, which stay the reference.

Spark runs what reads every event, or every event of a period: scope's extract of the windows' events
(`scope_account_events`), the accounts' hours when a lake has none (`account_hours_rebuild`), and discovery from its
scan of the period to its signals and pivot (`discover_events` … `discover_indicators`). The period's events stay in
Spark as a view; what comes back to DuckDB is small (`SPARK_FILES` says, per file, what becomes of its rows).

The Spark text of a file is its DuckDB text, parsed and written for Spark by sqlglot (pinned in requirements.lock),
then changed by the named rewrites of `REWRITES` — versioned: a change to one is a new `REWRITES_VERSION`, and a run
records the version with the SHA-256 of both texts. Where sqlglot cannot write a file, a hand-written twin goes in
`TWINS` (none is needed today). sqlglot translates without complaint things Spark computes otherwise; each such
trap seen so far is a rewrite or a refusal here, and a test on both engines (tests/test_spark_semantics.py):

- `isodow`: sqlglot writes `DAYOFWEEK(x) % 7 + 1`, which makes Monday 3 → `(DAYOFWEEK(x) + 5) % 7 + 1`;
- a timestamp as text: Spark drops DuckDB's `+00` → the suffix is added (the session time zone is UTC);
- binary as text: DuckDB escapes invalid UTF-8 (`\\xFF`), Spark replaces it (U+FFFD) → refused (use `hex()`);
- HUGEINT: DuckDB's `sum` of BIGINT is HUGEINT, which Parquet stores as DOUBLE → the lake and the landed rows
  are typed BIGINT by the DuckDB SQL that writes them, never by the engine;
- DuckDB's `timezone(zone, ts)` → Spark's `from_utc_timestamp(ts, zone)`;
- a fraction cast to an integer: DuckDB rounds (a DOUBLE half to even, a DECIMAL half away from zero), Spark
  truncates → `BROUND` or `ROUND` first;
- a decimal literal in a division: DuckDB divides in DOUBLE, Spark in DECIMAL rounded to its scale → refused (write
  an integer);
- `string_agg(DISTINCT x, sep ORDER BY x)`: sqlglot writes `LISTAGG(DISTINCT …) WITHIN GROUP`, which Spark 4.3 fails
  to plan beside another distinct aggregate → the sorted `COLLECT_SET` joined, NULL for no value; any other
  `string_agg` is refused.

A Spark-run file keeps to a portable subset (tests/test_spark_sql.py lints it): parameters only inside a CAST to a
scalar type (a list is a table: join it), no `AS MATERIALIZED`, no recursive CTE (the pivot is a loop of steps), no
timestamp or binary turned into text, no date format, `NOT EXISTS` rather than `NOT IN (subquery)`, `string_agg`
only of distinct values in their own order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types

from . import queries
from .errors import ConfigError
from .store import _statements

REWRITES_VERSION = 2
SQLGLOT_VERSION = version("sqlglot")


class TranslationError(ConfigError):
    """A DuckDB file uses something Spark would compute otherwise, and no rewrite makes it the same."""


@dataclass(frozen=True)
class SparkFile:
    """A DuckDB file Spark runs: the statement whose query Spark computes, what it reads, and what becomes of its rows.

    It reads the lake's tables, the views earlier Spark files of the stage kept (`views`), and small DuckDB tables
    sent as they are (`inputs`). Its rows are kept in Spark as a view named as the table the DuckDB file writes
    (`keeps`; appended to that view when the file is an INSERT), and/or landed in DuckDB by a DuckDB file (`lands`);
    `also_duckdb`: DuckDB runs the file as well, for the DuckDB files after it. A file that only SELECTs returns its
    rows (`SparkEngine.frame`); `account_hours_rebuild` alone writes into the lake."""

    name: str
    statement: int            # which statement of the file holds the query (0-based)
    lake_tables: tuple[str, ...]
    views: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    keeps: bool = False
    lands: str | None = None
    also_duckdb: bool = False


_PERIOD = ("discover_events",)
SPARK_FILES = {f.name: f for f in (
    SparkFile("scope_account_events", 0, ("events",), inputs=("scope_accounts",), lands="spark_land_session_input"),
    SparkFile("account_hours_rebuild", 1, ("events",)),
    # discovery, in the order it runs: the period's events and every table made of them stay in Spark
    SparkFile("discover_events", 0, ("events", "accounts", "patients", "care"), keeps=True),
    SparkFile("discover_baseline", 0, ("account_hours",), keeps=True, also_duckdb=True),
    SparkFile("discover_habits", 0, ("account_hours",), keeps=True, also_duckdb=True),
    SparkFile("discover_signals", 0, ("accounts",), (*_PERIOD, "discover_baseline", "discover_habits"), keeps=True,
              lands="spark_land_discover_signals"),
    SparkFile("discover_new_ips", 0, (), (*_PERIOD, "discover_baseline"), keeps=True),
    SparkFile("discover_pivot_seeds", 0, (), ("discover_signals",), keeps=True),
    SparkFile("discover_pivot_step", 0, (), ("discover_walk", "discover_new_ips"), keeps=True),
    SparkFile("discover_pivot", 0, (), ("discover_walk", "discover_new_ips"), keeps=True,
              lands="spark_land_discover_pivot"),
    SparkFile("discover_touched", 0, (), (*_PERIOD, "discover_signals", "discover_pivot"),
              lands="spark_land_discover_touched"),
    SparkFile("discover_session_input", 0, (), (*_PERIOD, "discover_signals", "discover_pivot"),
              lands="spark_land_discover_session_input"),
    SparkFile("discover_indicators", 0, (), (*_PERIOD, "discover_baseline", "discover_signals", "discover_pivot")),
)}

# The types of the lake's columns, for the rewrites that depend on a type (what a column holds as text).
LAKE_SCHEMA: dict[str, dict[str, str]] = {
    "events": {"event_key": "VARCHAR", "ts": "TIMESTAMPTZ", "ts_raw": "VARCHAR", "ts_flag": "VARCHAR",
               "account_id": "VARCHAR", "session_id": "VARCHAR", "src_ip": "VARCHAR", "user_agent": "VARCHAR",
               "action": "VARCHAR", "action_raw": "VARCHAR", "category": "VARCHAR", "patient_id": "VARCHAR",
               "patient_link": "VARCHAR", "outcome": "VARCHAR", "resource_type": "VARCHAR",
               "resource_id": "VARCHAR", "source_id": "VARCHAR", "source_line": "BIGINT", "src_ip_raw": "VARCHAR",
               "record_flags": "VARCHAR", "key_conflict": "BOOLEAN", "content_digest_hex": "VARCHAR"},
    "account_hours": {"account_id": "VARCHAR", "hour": "TIMESTAMPTZ", "src_ip": "VARCHAR", "user_agent": "VARCHAR",
                      "event_rows": "BIGINT", "accesses": "BIGINT", "copies": "BIGINT", "source_id": "VARCHAR",
                      "refused": "BIGINT"},
    "accounts": {"account_id": "VARCHAR", "practice_id": "VARCHAR", "role": "VARCHAR",
                 "active_from": "TIMESTAMPTZ", "active_until": "TIMESTAMPTZ"},
    "patients": {"patient_id": "VARCHAR", "practice_id": "VARCHAR"},
    "care": {"patient_id": "VARCHAR", "practice_id": "VARCHAR", "account_id": "VARCHAR", "kind": "VARCHAR",
             "start_ts": "TIMESTAMPTZ", "end_ts": "TIMESTAMPTZ"},
    "scope_accounts": {"account_id": "VARCHAR"},
}

_SIGNAL = {"account_id": "VARCHAR", "signal": "VARCHAR", "points": "INTEGER", "reason": "VARCHAR",
           "first_ts": "TIMESTAMPTZ", "last_ts": "TIMESTAMPTZ"}
# The types of the tables Spark keeps as views, as DuckDB types them (a test compares them with DuckDB's).
VIEW_SCHEMA: dict[str, dict[str, str]] = {
    "discover_events": {"event_key": "VARCHAR", "ts": "TIMESTAMPTZ", "account_id": "VARCHAR", "session_id": "VARCHAR",
                        "src_ip": "VARCHAR", "user_agent": "VARCHAR", "action": "VARCHAR", "category": "VARCHAR",
                        "patient_id": "VARCHAR", "outcome": "VARCHAR", "in_period": "BOOLEAN",
                        "own_patient": "BOOLEAN"},
    "discover_baseline": {"account_id": "VARCHAR", "src_ip": "VARCHAR", "user_agent": "VARCHAR",
                          "event_rows": "BIGINT"},
    "discover_habits": {"account_id": "VARCHAR", "med_patients": "DOUBLE", "max_patients": "BIGINT",
                        "max_copies": "BIGINT"},
    "discover_signals": _SIGNAL,
    "discover_new_ips": {"account_id": "VARCHAR", "src_ip": "VARCHAR"},
    "discover_walk": {"account_id": "VARCHAR", "depth": "BIGINT", "via": "VARCHAR"},
    "discover_pivot": _SIGNAL,
}

_BINARY = {exp.DataType.Type.VARBINARY, exp.DataType.Type.BINARY}
_INTEGERS = (exp.DataType.Type.BIGINT, exp.DataType.Type.INT, exp.DataType.Type.SMALLINT, exp.DataType.Type.TINYINT)
_FLOATS = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)


@dataclass(frozen=True)
class Rewrite:
    """One named change from sqlglot's Spark output to what computes the same as DuckDB."""

    name: str
    why: str
    apply: Callable[[exp.Expr, dict[str, exp.DataType]], exp.Expr]


def _query_of_write(tree: exp.Expr, _: dict[str, exp.DataType]) -> exp.Expr:
    if isinstance(tree, exp.Create | exp.Insert) and isinstance(tree.expression, exp.Query):
        return tree.expression
    return tree


def _isodow(tree: exp.Expr, _: dict[str, exp.DataType]) -> exp.Expr:
    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.DayOfWeekIso):
            return sqlglot.parse_one(f"((DAYOFWEEK({node.this.sql('spark')}) + 5) % 7) + 1", read="spark")
        if isinstance(node, exp.Extract) and node.this.name.upper() == "ISODOW":
            return sqlglot.parse_one(f"((DAYOFWEEK({node.expression.sql('spark')}) + 5) % 7) + 1", read="spark")
        return node
    return tree.transform(fix)


def _is_text(dtype: exp.DataType) -> bool:
    return dtype.is_type(*exp.DataType.TEXT_TYPES)


def _typed(node: exp.Expr, columns: dict[str, exp.DataType]) -> exp.DataType | None:
    """The type sqlglot found, else the one type a column of that name has in the schema, else what DuckDB makes of
    the arithmetic and aggregates of typed values (`/` is always DOUBLE in DuckDB)."""
    t = node.type
    if isinstance(t, exp.DataType) and not t.is_type(exp.DataType.Type.UNKNOWN):
        return t
    if isinstance(node, exp.Column):
        return columns.get(node.name)
    if isinstance(node, exp.Paren):
        return _typed(node.this, columns)
    if isinstance(node, exp.Div):
        return exp.DataType.build("DOUBLE")
    if isinstance(node, exp.Count):
        return exp.DataType.build("BIGINT")
    if isinstance(node, exp.Sum | exp.Min | exp.Max):
        return _typed(node.this, columns)
    if isinstance(node, exp.Add | exp.Sub | exp.Mul):
        sides = [_typed(side, columns) for side in (node.this, node.expression)]
        if any(side is None for side in sides):
            return None
        for kinds in (_FLOATS, (exp.DataType.Type.DECIMAL,), _INTEGERS):
            if any(side is not None and side.this in kinds for side in sides):
                return exp.DataType.build(kinds[0].value)
    return None


def _column_types(schema: dict[str, dict[str, str]]) -> dict[str, exp.DataType]:
    seen: dict[str, set[str]] = {}
    for columns in schema.values():
        for name, dtype in columns.items():
            seen.setdefault(name, set()).add(dtype.upper())
    return {name: exp.DataType.build(next(iter(types)), dialect="duckdb")
            for name, types in seen.items() if len(types) == 1}


def _text_of(tree: exp.Expr, columns: dict[str, exp.DataType]) -> exp.Expr:
    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Cast) and _is_text(node.to):
            operand = _typed(node.this, columns)
            if operand is None and not isinstance(node.this, exp.Literal):
                raise TranslationError(f"CAST({node.this.sql('duckdb')} AS {node.to.sql('duckdb')}): the type of "
                                       f"the value turned into text is not known, and Spark writes timestamps and "
                                       f"binary values as text otherwise than DuckDB",
                                       hint="cast it to its type first, or compute the text from epoch microseconds")
            if operand is not None and operand.this in _BINARY:
                raise TranslationError(f"CAST({node.this.sql('duckdb')} AS {node.to.sql('duckdb')}): binary as "
                                       f"text differs on invalid UTF-8 (DuckDB escapes it, Spark replaces it)",
                                       hint="use hex() of the binary value")
            if operand is not None and operand.this in (exp.DataType.Type.TIMESTAMPTZ,
                                                        exp.DataType.Type.TIMESTAMPLTZ):
                return exp.Concat(expressions=[node.copy(), exp.Literal.string("+00")])
        return node
    return tree.transform(fix)


def _timezone(tree: exp.Expr, _: dict[str, exp.DataType]) -> exp.Expr:
    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone" and len(node.expressions) == 2:
            zone, value = node.expressions
            return exp.Anonymous(this="FROM_UTC_TIMESTAMP", expressions=[value.copy(), zone.copy()])
        return node
    return tree.transform(fix)




def _decimal_literal(node: exp.Expr) -> bool:
    return any(lit.is_number and "." in lit.name for lit in node.find_all(exp.Literal))


def _fractions(tree: exp.Expr, columns: dict[str, exp.DataType]) -> exp.Expr:
    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Div) and (_decimal_literal(node.this) or _decimal_literal(node.expression)):
            raise TranslationError(f"{node.sql('duckdb')}: a decimal literal in a division (DuckDB divides in DOUBLE, "
                                   f"Spark in DECIMAL rounded to its scale)", hint="write an integer literal")
        if isinstance(node, exp.Cast) and node.to.this in _INTEGERS \
                and not isinstance(node.this, exp.Round | exp.Floor | exp.Ceil | exp.Placeholder | exp.Parameter):
            operand = _typed(node.this, columns)
            if operand is None:
                raise TranslationError(f"CAST({node.this.sql('duckdb')} AS {node.to.sql('duckdb')}): the type of the "
                                       f"value cast to an integer is not known, and Spark truncates a fraction "
                                       f"DuckDB rounds", hint="cast it to its type first, or round() it")
            if operand.this in _FLOATS:
                to_int = "BROUND"   # DuckDB casts a DOUBLE to an integer half to even
            elif operand.this == exp.DataType.Type.DECIMAL:
                to_int = "ROUND"    # ... and a DECIMAL half away from zero
            else:
                return node
            rounded = exp.Anonymous(this=to_int, expressions=[node.this.copy(), exp.Literal.number(0)])
            return exp.Cast(this=rounded, to=node.to.copy())
        return node
    return tree.transform(fix)


def _distinct_list(node: exp.Expr) -> exp.Expr | None:
    """x of `string_agg(DISTINCT x, sep ORDER BY x)`, the one form of string_agg a Spark-run file may use."""
    order = node.this
    if not isinstance(order, exp.Order) or not isinstance(order.this, exp.Distinct):
        return None
    values, keys = order.this.expressions, order.expressions
    if len(values) != 1 or len(keys) != 1 or keys[0].args.get("desc") or keys[0].this != values[0]:
        return None
    value: exp.Expr = values[0]
    return value


def _string_agg(tree: exp.Expr, _: dict[str, exp.DataType]) -> exp.Expr:
    def fix(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.GroupConcat):
            return node
        value = _distinct_list(node)
        if value is None:
            raise TranslationError(f"{node.sql('duckdb')}: string_agg other than of distinct values in their own "
                                   f"order (Spark orders and keeps duplicates otherwise)",
                                   hint="string_agg(DISTINCT x, sep ORDER BY x)")
        separator = node.args.get("separator") or exp.Literal.string(",")
        joined = sqlglot.parse_one(f"CASE WHEN COUNT({value.sql('spark')}) > 0 THEN ARRAY_JOIN(ARRAY_SORT("
                                   f"COLLECT_SET({value.sql('spark')})), {separator.sql('spark')}) END", read="spark")
        return joined
    return tree.transform(fix)


REWRITES: tuple[Rewrite, ...] = (
    Rewrite("query_of_write", "Spark computes the rows, DuckDB stores them: CREATE OR REPLACE TABLE needs a v2 "
            "catalog in Spark, and the landing file types the rows as the store does", _query_of_write),
    Rewrite("isodow", "ISO weekday, Monday 1 … Sunday 7 (sqlglot's DAYOFWEEK % 7 + 1 makes Monday 3)", _isodow),
    Rewrite("text_of_timestamp", "a TIMESTAMPTZ as text ends in +00 in DuckDB, not in Spark; binary as text is "
            "refused", _text_of),
    Rewrite("timezone", "DuckDB timezone(zone, ts) is Spark from_utc_timestamp(ts, zone)", _timezone),
    Rewrite("fractions", "a fraction cast to an integer is rounded as DuckDB rounds it (Spark truncates); a decimal "
            "literal in a division is refused", _fractions),
    Rewrite("string_agg", "string_agg(DISTINCT x, sep ORDER BY x) is the sorted set joined, NULL when empty (Spark's "
            "LISTAGG(DISTINCT) fails beside another distinct aggregate); any other string_agg is refused", _string_agg),
)

TWINS: dict[str, str] = {}


def translate(duckdb_sql: str, *, schema: dict[str, dict[str, str]] | None = None) -> str:
    """One DuckDB statement as Spark SQL: sqlglot, then every rewrite in order."""
    schema = schema or {**LAKE_SCHEMA, **VIEW_SCHEMA}
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    tree = annotate_types(tree, schema=dict(schema), dialect="duckdb")
    columns = _column_types(schema)
    for rewrite in REWRITES:
        tree = rewrite.apply(tree, columns)
    return tree.sql(dialect="spark", pretty=True)


def reference_statement(name: str) -> str:
    """The statement of the DuckDB file whose query Spark computes."""
    spec = SPARK_FILES[name]
    return _statements(queries.get(name).text)[spec.statement]


def target(name: str) -> tuple[str, bool]:
    """The table a Spark-run file writes in DuckDB, and whether it appends to it (INSERT) rather than replaces it:
    the name and the fate of the view Spark keeps of it."""
    tree = sqlglot.parse_one(reference_statement(name), read="duckdb")
    if not isinstance(tree, exp.Create | exp.Insert):
        raise ConfigError(f"{name} writes no table")
    table = tree.this if isinstance(tree.this, exp.Table) else tree.this.find(exp.Table)
    if table is None:
        raise ConfigError(f"{name} writes no table")
    return table.name, isinstance(tree, exp.Insert)


@cache
def spark_text(name: str) -> str:
    """The Spark text of a Spark-run file."""
    if name not in SPARK_FILES:
        raise ConfigError(f"{name} is not a file Spark runs")
    if name in TWINS:
        return TWINS[name]
    header = f"-- Spark text of scoping/sql/{name}.sql (sqlglot {SQLGLOT_VERSION}, rewrites v{REWRITES_VERSION})\n"
    return header + translate(reference_statement(name)) + "\n"


def texts() -> dict[str, dict[str, str]]:
    """What a run records of the Spark-run files: the SHA-256 of both texts and how the Spark one was made."""
    return {name: {"duckdb_sha256": queries.get(name).sha256,
                   "spark_sha256": hashlib.sha256(spark_text(name).encode()).hexdigest(),
                   "method": "hand-written twin" if name in TWINS else
                   f"sqlglot {SQLGLOT_VERSION} + rewrites v{REWRITES_VERSION}"}
            for name in sorted(SPARK_FILES)}
