"""The silent differences between DuckDB and Spark, on both engines: for each, recorded inputs, the DuckDB text, its
Spark text (sqlglot + the named rewrites of scoping/spark_sql.py), and the same answer — or a refusal where no
rewrite makes it the same. Also all-NULL groups and empty lists."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from scoping.spark_sql import TranslationError, translate

PROBE_SCHEMA = {"probe": {"id": "BIGINT", "g": "VARCHAR", "account_id": "VARCHAR", "ts": "TIMESTAMPTZ",
                          "b": "BLOB", "n": "BIGINT", "x": "VARCHAR", "v": "VARCHAR"}}


def _probe() -> pa.Table:
    """Sub-second instants (trailing zeros, none, six digits), the days around midnight in far zones, invalid UTF-8,
    values whose sum needs more than a double's 53 bits, a group whose every value is NULL, text whose order is
    that of its bytes (capitals before small letters before accents) with a duplicate and an empty string."""
    ts = [datetime(2025, 11, 10, 18, 0, 0, 120000, tzinfo=UTC), datetime(2025, 11, 10, 18, 0, tzinfo=UTC),
          datetime(2025, 11, 10, 18, 0, 0, 123456, tzinfo=UTC), datetime(2025, 11, 9, 23, 30, tzinfo=UTC),
          datetime(2025, 11, 16, 11, 59, 59, 999999, tzinfo=UTC), datetime(2025, 11, 17, 0, 0, 0, 1, tzinfo=UTC),
          datetime(2025, 10, 26, 1, 30, tzinfo=UTC)]
    return pa.table({
        "id": pa.array(range(len(ts)), pa.int64()),
        "g": ["a", "a", "b", "b", "c", "c", "c"],
        "account_id": ["dr-1", "dr-1", "dr-2", "dr-2", "dr-3", "dr-3", "dr-3"],
        "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "b": pa.array([b"\xff\x41", b"ok", b"\xc3\xa9", b"\xc3", b"", b"\x00", b"\xe2\x82"], pa.binary()),
        "n": pa.array([2**61, 2**61 + 1, 2**53 + 1, 1, None, None, None], pa.int64()),
        "x": [None, "p1", "p2", None, None, None, None],
        "v": ["z", "Z", "é", "", "éa", "z", "a b"],
    })


@pytest.fixture(scope="module")
def engines(spark):
    table = _probe()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("probe_arrow", table)
    con.execute("CREATE TABLE probe AS SELECT * FROM probe_arrow")
    spark.createDataFrame(table).createOrReplaceTempView("probe")
    return con, spark


def _norm(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value


def both(engines, sql: str) -> tuple[list[tuple], list[tuple]]:
    con, spark = engines
    mine = [tuple(_norm(v) for v in row) for row in con.execute(sql).fetchall()]
    theirs = [tuple(_norm(v) for v in row) for row in spark.sql(translate(sql, schema=PROBE_SCHEMA)).collect()]
    return mine, theirs


def test_iso_weekdays_across_zones(engines):
    sql = ("SELECT id, isodow(ts), isodow(timezone('Pacific/Auckland', ts)), "
           "isodow(timezone('America/Los_Angeles', ts)), EXTRACT(isodow FROM ts) FROM probe ORDER BY id")
    mine, theirs = both(engines, sql)
    assert mine == theirs
    assert {row[1] for row in mine} >= {1, 7}  # a Monday and a Sunday
    naive = sqlglot.transpile("SELECT isodow(ts) FROM probe ORDER BY id", read="duckdb", write="spark")[0]
    assert [r[0] for r in engines[1].sql(naive).collect()] != [r[1] for r in mine]  # the trap the rewrite avoids


def test_timestamps_as_text_and_the_session_keys_made_of_them(engines):
    sql = ("SELECT id, CAST(ts AS VARCHAR), left(sha256(concat_ws('|', account_id, CAST(ts AS VARCHAR))), 16) "
           "FROM probe ORDER BY id")
    mine, theirs = both(engines, sql)
    assert mine == theirs
    assert mine[0][1] == "2025-11-10 18:00:00.12+00" and mine[2][1] == "2025-11-10 18:00:00.123456+00"
    naive = sqlglot.transpile("SELECT CAST(ts AS VARCHAR) FROM probe ORDER BY id", read="duckdb", write="spark")[0]
    assert next(r[0] for r in engines[1].sql(naive).collect()) == "2025-11-10 18:00:00.12"  # no +00: the trap


def test_invalid_utf8_is_compared_as_hex_and_never_decoded(engines):
    mine, theirs = both(engines, "SELECT id, hex(b) FROM probe ORDER BY id")
    assert mine == theirs and mine[0][1] == "FF41"
    with pytest.raises(TranslationError, match="invalid UTF-8"):
        translate("SELECT CAST(b AS VARCHAR) FROM probe", schema=PROBE_SCHEMA)
    con, spark = engines
    naive = sqlglot.transpile("SELECT CAST(b AS VARCHAR) FROM probe ORDER BY id", read="duckdb", write="spark")[0]
    assert con.execute("SELECT CAST(b AS VARCHAR) FROM probe ORDER BY id").fetchone()[0] == "\\xFFA"
    assert spark.sql(naive).collect()[0][0] == "\ufffdA"  # the trap the refusal avoids


def test_whole_numbers_stay_bigint_in_parquet(engines, tmp_path):
    con, spark = engines
    exact = "SELECT g, CAST(sum(n) AS BIGINT) AS s FROM probe GROUP BY g ORDER BY g"
    mine, theirs = both(engines, exact)
    assert mine == theirs and mine[0][1] == 2**62 + 1
    con.execute(f"COPY (SELECT g, sum(n) AS s FROM probe GROUP BY g) TO '{tmp_path}/huge.parquet'")
    con.execute(f"COPY ({exact}) TO '{tmp_path}/big.parquet'")
    assert str(pq.read_schema(tmp_path / "huge.parquet").field("s").type) == "double"  # the trap
    assert str(pq.read_schema(tmp_path / "big.parquet").field("s").type) == "int64"
    back = spark.read.parquet(str(tmp_path / "big.parquet")).orderBy("g").collect()
    assert [(r.g, r.s) for r in back] == [(g, s) for g, s in mine]


def test_all_null_groups(engines):
    sql = ("SELECT g, count(x), count(*), min(x), max(x), CAST(sum(n) AS BIGINT), count(n) "
           "FROM probe GROUP BY g ORDER BY g")
    mine, theirs = both(engines, sql)
    assert mine == theirs
    assert mine[2] == ("c", 0, 3, None, None, None, 0)


def test_empty_lists(engines):
    con, spark = engines
    con.execute("CREATE TABLE wanted (account_id VARCHAR)")
    spark.createDataFrame([], "account_id string").createOrReplaceTempView("wanted")
    schema = {**PROBE_SCHEMA, "wanted": {"account_id": "VARCHAR"}}
    for sql in ("SELECT id FROM probe WHERE account_id IN (SELECT account_id FROM wanted) ORDER BY id",
                "SELECT count(*), count(DISTINCT account_id) FROM probe WHERE account_id IN "
                "(SELECT account_id FROM wanted)",
                "SELECT g, count(*) FROM probe WHERE NOT EXISTS (SELECT 1 FROM wanted w WHERE w.account_id = "
                "probe.account_id) GROUP BY g ORDER BY g"):
        mine = con.execute(sql).fetchall()
        theirs = [tuple(r) for r in spark.sql(translate(sql, schema=schema)).collect()]
        assert mine == theirs, sql


def test_string_agg_of_distinct_values_beside_other_distinct_aggregates(engines):
    sql = ("SELECT g, string_agg(DISTINCT x, ', ' ORDER BY x), string_agg(DISTINCT v, '; ' ORDER BY v), "
           "count(DISTINCT account_id), count(DISTINCT n) FROM probe GROUP BY g ORDER BY g")
    mine, theirs = both(engines, sql)
    assert mine == theirs
    assert mine[2][1] is None  # a group whose every value is NULL: NULL, not ''
    spark = engines[1]
    whole = "SELECT string_agg(DISTINCT v, ', ' ORDER BY v), string_agg(DISTINCT x, ', ' ORDER BY x) FROM probe"
    assert both(engines, whole)[0] == both(engines, whole)[1] == [(", Z, a b, z, é, éa", "p1, p2")]
    empty = "SELECT string_agg(DISTINCT v, ', ' ORDER BY v) FROM probe WHERE id < 0"
    assert both(engines, empty) == ([(None,)], [(None,)])
    naive = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    with pytest.raises(Exception, match=r"ClassCastException|SortOrder"):  # the trap the rewrite avoids
        spark.sql(naive).collect()


def test_fractions_cast_to_integers_round_as_duckdb_rounds(engines):
    sql = ("SELECT id, CAST(id / 2 AS INTEGER), CAST((id - 3) / 2 AS BIGINT), "
           "CAST(CAST(id / 2 AS DECIMAL(6, 1)) AS INTEGER), CAST(round(id / 2) AS INTEGER) FROM probe ORDER BY id")
    mine, theirs = both(engines, sql)
    assert mine == theirs
    assert [row[1] for row in mine] == [0, 0, 1, 2, 2, 2, 3]  # a DOUBLE half to even
    assert [row[3] for row in mine] == [0, 1, 1, 2, 2, 3, 3]  # a DECIMAL half away from zero
    naive = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    assert [r[1] for r in engines[1].sql(naive).collect()] != [row[1] for row in mine]  # Spark truncates: the trap


def test_a_decimal_literal_in_a_division_is_refused():
    with pytest.raises(TranslationError, match="decimal literal in a division"):
        translate("SELECT 100.0 * n / id FROM probe", schema=PROBE_SCHEMA)
    assert "100 * n / id" in translate("SELECT 100 * n / id FROM probe", schema=PROBE_SCHEMA).replace("\n", " ")
