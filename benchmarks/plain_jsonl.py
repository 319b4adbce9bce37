"""The end-to-end floor for a JSON-lines log: what a plain DuckDB script does to answer the scope question.

It reads the gzip files with DuckDB's own parallel `read_json` (bad lines skipped, no ledger, no line numbers),
maps them with the case's rules written as one `CASE` per canonical column (first matching rule wins, a named group
captures, as in case.toml), keeps the first line of each request id (the rotated files repeat lines), reads the
reference tables with `read_csv`, and hands the events to the polars scope of `alt_scope.py` (which the benchmark
checks against scoping's list). What it leaves out is what scoping adds: the line ledger (quarantine, duplicates,
conflicts, every line accounted for), the digests that tell duplicates from conflicts, the checks, the evidence
hashes and the run record. It is a floor for clean logs (the synthetic worlds), not a second implementation: on
dirty logs its list may differ from scoping's, e.g. a key written twice in a record (`read_json` keeps the first
value, scoping the last) or a request id reused with other content (it keeps one version, scoping both).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from scoping.schema import ACTIONS, CATEGORIES, OUTCOMES


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rules_sql(source: dict[str, Any], params: dict[str, Any]) -> dict[str, str]:
    """One CASE per canonical column a rule sets or captures (first matching rule wins)."""
    def bind(value: Any) -> str:
        name = f"p{len(params)}"
        params[name] = value
        return f"${name}"

    branches: dict[str, list[str]] = {}
    for rule in source.get("rules", []):
        when = " AND ".join(f"coalesce(regexp_matches({_q(f)}, {bind(p)}), false)" for f, p in rule["when"].items())
        for col, value in rule.get("set", {}).items():
            branches.setdefault(col, []).append(f"WHEN {when} THEN {bind(value)}")
        for f, p in rule["when"].items():
            for col, group in re.compile(p).groupindex.items():
                branches.setdefault(col, []).append(
                    f"WHEN {when} THEN nullif(regexp_extract({_q(f)}, {bind(p)}, {group}), '')")
    return {col: f"CASE {' '.join(b)} END" for col, b in branches.items()}


def plain_events(world: Path, source_name: str, out_parquet: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The source's events as Parquet (one row per patient), and the patients and accounts reference tables."""
    case = tomllib.loads((world / "case.toml").read_text())
    source = case["sources"][source_name]
    cols = source["columns"]
    files = sorted(str(p) for pattern in source["files"] for p in world.glob(pattern))
    params: dict[str, Any] = {"files": files, "ts_format": source["ts_format"], "out": str(out_parquet)}
    ruled = _rules_sql(source, params)
    fields = sorted({f for r in source.get("rules", []) for f in r["when"]} | {v for k, v in cols.items()
                                                                               if k != "patient_id"})
    listed = cols.get("patient_id")
    columns = {f: "VARCHAR" for f in fields} | ({listed: "VARCHAR[]"} if listed else {})
    columns_sql = "{" + ", ".join(f"'{f}': '{t}'" for f, t in columns.items()) + "}"

    def value(col: str, default: str = "NULL") -> str:
        field = cols.get(col)
        fallback = f"nullif(trim({_q(field)}), '')" if field and col != "patient_id" else default
        return f"coalesce({ruled[col]}, {fallback})" if col in ruled else fallback

    def vocab(col: str, allowed: tuple[str, ...], other: str) -> str:
        return f"CASE WHEN {value(col)} IN ({', '.join(repr(v) for v in allowed)}) THEN {value(col)} ELSE '{other}' END"

    capture = ruled.get("patient_id", "NULL::VARCHAR")
    sql = f"""
COPY (
  WITH raw AS (
    SELECT * FROM read_json($files, format = 'newline_delimited', ignore_errors = true, columns = {columns_sql})
  ),
  mapped AS (
    SELECT {_q(cols['event_key'])} AS event_key, try_strptime({_q(cols['ts'])}, $ts_format)::TIMESTAMPTZ AS ts,
      {value('account_id')} AS account_id, {value('session_id')} AS session_id, {value('src_ip')} AS src_ip,
      {value('user_agent')} AS user_agent, {vocab('action', ACTIONS, 'other')} AS action,
      CASE WHEN {value('category')} IN ({', '.join(repr(v) for v in CATEGORIES)}) THEN {value('category')}
           WHEN {capture} IS NULL AND len({_q(listed) if listed else 'NULL::VARCHAR[]'}) > 0 THEN 'patient_list'
           ELSE 'unknown' END AS category,
      {vocab('outcome', OUTCOMES, 'unknown')} AS outcome,
      {value('resource_type')} AS resource_type, {value('resource_id')} AS resource_id,
      CASE WHEN {capture} IS NOT NULL THEN [{capture}]
           WHEN len({_q(listed) if listed else 'NULL::VARCHAR[]'}) > 0
             THEN list_distinct({_q(listed) if listed else 'NULL::VARCHAR[]'})
           ELSE [NULL::VARCHAR] END AS patients
    FROM raw
  ),
  kept AS (
    SELECT * FROM mapped WHERE ts IS NOT NULL AND account_id IS NOT NULL AND event_key IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY event_key ORDER BY ts) = 1
  )
  SELECT * EXCLUDE (patients), unnest(patients) AS patient_id FROM kept
) TO $out (FORMAT parquet)"""
    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")
    con.execute(sql, params)
    refs = case["reference"]
    con.execute("SET TimeZone = 'UTC'")
    patients = pl.from_arrow(con.sql("SELECT patient_id, practice_id FROM read_csv($f, all_varchar = true)",
                                     params={"f": str(world / refs["patients"]["file"])}).to_arrow_table())
    accounts = pl.from_arrow(con.sql(
        "SELECT account_id, timezone($tz, try_cast(active_until AS TIMESTAMP)) AS active_until "
        "FROM read_csv($f, all_varchar = true)",
        params={"f": str(world / refs["accounts"]["file"]), "tz": refs["accounts"]["timezone"]}).to_arrow_table())
    con.close()
    assert isinstance(patients, pl.DataFrame) and isinstance(accounts, pl.DataFrame)
    return patients, accounts
