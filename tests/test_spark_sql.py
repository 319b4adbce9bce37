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


def _described(name: str) -> dict[str, str]:
    """The columns and DuckDB types of what a Spark-run file computes, over empty tables typed as Spark reads them."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table, columns in {**spark_sql.LAKE_SCHEMA, **spark_sql.VIEW_SCHEMA}.items():
        con.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    select = sqlglot.parse_one(reference_statement(name), read="duckdb")
    query = select.expression if isinstance(select, exp.Create | exp.Insert) else select
    rows = con.execute(f"DESCRIBE {query.sql('duckdb')}", {p: None for p in queries.get(name).used_params()})
    return {row[0]: row[1].replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ") for row in rows.fetchall()}


@pytest.mark.parametrize("name", sorted(SPARK_FILES))
def test_what_spark_computes_has_no_hugeint(name):
    """DuckDB's sum of BIGINT is a HUGEINT, which Parquet keeps as a DOUBLE and Spark reads as one."""
    types = _described(name)
    assert not [t for t in types.values() if "HUGEINT" in t], (name, types)


@pytest.mark.parametrize("name", sorted(n for n, f in SPARK_FILES.items() if f.keeps))
def test_the_views_spark_keeps_are_typed_as_duckdb_types_them(name):
    """The rewrites read the types of the views from VIEW_SCHEMA: it must say what DuckDB computes."""
    table, _ = spark_sql.target(name)
    assert _described(name) == spark_sql.VIEW_SCHEMA[table]


@pytest.mark.parametrize("name", sorted(SPARK_FILES))
def test_a_spark_file_declares_every_table_it_reads(name):
    """The lake tables, the kept views and the DuckDB inputs of SPARK_FILES are the tables the statement reads: a
    table forgotten would be read from a view of another stage, or not at all."""
    spec = SPARK_FILES[name]
    tree = sqlglot.parse_one(reference_statement(name), read="duckdb")
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    written = spark_sql.target(name)[0] if isinstance(tree, exp.Create | exp.Insert) else None
    read = {t.name for t in tree.find_all(exp.Table) if t.name not in ctes} - {written}
    if isinstance(tree, exp.Insert):  # an INSERT reads the table it adds to
        read |= {written} & {t.name for t in tree.expression.find_all(exp.Table)}
    assert read == {*spec.lake_tables, *spec.views, *spec.inputs}


def test_a_run_records_both_texts():
    recorded = spark_sql.texts()
    assert set(recorded) == set(SPARK_FILES)
    for entry in recorded.values():
        assert len(entry["duckdb_sha256"]) == len(entry["spark_sha256"]) == 64
        assert entry["method"].startswith("sqlglot")
