"""The files Spark runs: their Spark text is the golden file a reviewer reads, and their DuckDB text (the
reference) keeps to the portable subset — the lint below. Runs without Spark."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from scoping import queries, spark_sql
from scoping.spark_sql import SPARK_FILES, TranslationError, reference_statement, spark_text, translate

GOLDEN = Path(__file__).parent / "golden" / "spark"
SCALARS = {"TIMESTAMPTZ", "TIMESTAMP", "BIGINT", "INT", "VARCHAR", "TEXT", "DOUBLE", "BOOLEAN", "DATE"}


def portability_problems(statement: str) -> list[str]:
    """What in a DuckDB statement Spark would not run, or would compute otherwise."""
    problems = []
    upper = " ".join(statement.upper().split())
    if "MATERIALIZED" in upper:
        problems.append("AS MATERIALIZED (Spark has no such hint)")
    tree = sqlglot.parse_one(statement, read="duckdb")
    for with_ in tree.find_all(exp.With):
        if with_.args.get("recursive"):
            problems.append("a recursive CTE (Spark takes UNION ALL only: write a bounded loop)")
    for node in tree.find_all(exp.Placeholder, exp.Parameter):
        parent = node.parent
        if not (isinstance(parent, exp.Cast) and parent.to.sql("duckdb").upper() in SCALARS):
            problems.append(f"parameter {node.sql('duckdb')} outside a CAST to a scalar type (a list is a table: "
                            f"join it)")
    for node in tree.find_all(exp.Not):
        if isinstance(node.this, exp.In) and node.this.args.get("query") is not None:
            problems.append("NOT IN (subquery): use NOT EXISTS")
    for node in tree.find_all(exp.Anonymous, exp.Func):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).upper()
        if name in ("LIST_CONTAINS", "ARRAY_CONTAINS", "UNNEST", "EXPLODE", "LIST", "ARRAY_AGG", "TO_MINUTES",
                    "STRFTIME", "STRPTIME", "TIME_TO_STR", "STR_TO_TIME", "LISTAGG"):
            problems.append(f"{name}: a list or a date format Spark reads otherwise (keep it in DuckDB)")
    try:
        translate(statement)
    except TranslationError as exc:
        problems.append(str(exc))
    return problems


@pytest.mark.parametrize("name", sorted(SPARK_FILES))
def test_the_spark_run_files_keep_to_the_portable_subset(name):
    assert portability_problems(reference_statement(name)) == []
    assert "Spark runs this file" in queries.get(name).text or name == "account_hours_rebuild"


@pytest.mark.parametrize(("sql", "fragment"), [
    ("SELECT * FROM events WHERE list_contains($accounts, account_id)", "outside a CAST"),
    ("WITH x AS MATERIALIZED (SELECT 1) SELECT * FROM x", "MATERIALIZED"),
    ("WITH RECURSIVE w(n) AS (SELECT 1 UNION SELECT n + 1 FROM w WHERE n < 3) SELECT * FROM w", "recursive"),
    ("SELECT * FROM events WHERE account_id NOT IN (SELECT account_id FROM accounts)", "NOT EXISTS"),
    ("SELECT strftime(ts, '%Y') FROM events", "date format"),
    ("SELECT CAST(x AS VARCHAR) FROM (SELECT ts AS x FROM events) s JOIN other USING (k)", "not known"),
    ("SELECT string_agg(src_ip, ', ' ORDER BY ts) FROM events", "string_agg other than of distinct values"),
    ("SELECT string_agg(DISTINCT src_ip, ', ') FROM events", "string_agg other than of distinct values"),
    ("SELECT string_agg(DISTINCT src_ip, ', ' ORDER BY src_ip DESC) FROM events", "string_agg other than"),
    ("SELECT round(100.0 * count(*) / count(DISTINCT src_ip)) FROM events", "decimal literal in a division"),
    ("SELECT CAST(x AS INTEGER) FROM (SELECT ts AS x FROM events) s JOIN other USING (k)", "cast to an integer"),
])
def test_the_lint_names_what_is_not_portable(sql, fragment):
    assert any(fragment in p for p in portability_problems(sql)), portability_problems(sql)


@pytest.mark.parametrize("name", sorted(SPARK_FILES))
def test_the_spark_text_is_the_golden_file(name):
    assert spark_text(name) == (GOLDEN / f"{name}.sql").read_text(), \
        f"regenerate tests/golden/spark/{name}.sql after reviewing the change"


@pytest.mark.parametrize("name", sorted(SPARK_FILES))
def test_what_spark_computes_has_no_hugeint(name):
    """DuckDB's sum of BIGINT is a HUGEINT, which Parquet keeps as a DOUBLE and Spark reads as one."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table, columns in spark_sql.LAKE_SCHEMA.items():  # the tables as Spark reads them from the lake
        con.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    select = sqlglot.parse_one(reference_statement(name), read="duckdb")
    query = select.expression if isinstance(select, exp.Create | exp.Insert) else select
    text = query.sql("duckdb")
    types = [row[1] for row in con.execute(f"DESCRIBE {text}", {p: None for p in queries.get(name).used_params()})
             .fetchall()]
    assert not [t for t in types if "HUGEINT" in t], (name, types)


def test_a_run_records_both_texts():
    recorded = spark_sql.texts()
    assert set(recorded) == set(SPARK_FILES)
    for entry in recorded.values():
        assert len(entry["duckdb_sha256"]) == len(entry["spark_sha256"]) == 64
        assert entry["method"].startswith("sqlglot")
