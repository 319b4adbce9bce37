"""Recorded runs: every scope (and discovery) run is kept in the case store under its run id, with its tables.

`runs` holds one row per run (kind, time, digests, the record and summary as JSON); each table of a run is kept in
`run_<kind>_<table>` with a `run_id` column and the row order it had (`run_row`). Loading a run gives back the
very frames that were computed, so `notify` and `report` publish the run that was scoped — never a recomputation
with other options — and stop when the evidence or the incident changed since.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl

from .errors import ConfigError
from .queries import quote_ident
from .result import RunRecord, canonical_digest
from .store import Runner, frame_scan


def plain_rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain values (instants as ISO 8601 text), for a record or a summary."""
    return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
            for row in df.iter_rows(named=True)]


def evidence_state(runner: Runner) -> tuple[str, list[dict[str, Any]]]:
    """The digest of the evidence the store holds (files and the mapping that read each) and its rows."""
    evidence = plain_rows(runner.frame("summary_evidence"))
    key = sorted((e["kind"], e["source"], e["sha256"], e.get("mapping_sha256") or "") for e in evidence)
    return canonical_digest(key), evidence


def _table(kind: str, name: str) -> str:
    return quote_ident(f"run_{kind}_{name}")


def _columns(runner: Runner, table: str) -> dict[str, str]:
    rows = runner.execute("runs_columns", "SELECT column_name, data_type FROM duckdb_columns() "
                          "WHERE table_name = $t AND schema_name = 'main'", {"t": table.strip('"')})
    return {name: dtype for name, dtype in rows}


def case_id(runner: Runner) -> str:
    """The case's own id (random, made once with its store): which case an output set belongs to."""
    runner.run("runs_schema")
    return str(runner.execute("case_id", "SELECT value FROM case_meta WHERE key = 'case_id'")[0][0])


def stored(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A summary as the store keeps it and gives it back (JSON values, keys in their order): a fresh run and a
    recorded one must read the same, or a report of one would not be the report of the other."""
    loaded: dict[str, Any] = json.loads(json.dumps(dict(summary), default=str))
    return loaded


def record(runner: Runner, run: RunRecord, frames: Mapping[str, pl.DataFrame], summary: Mapping[str, Any],
           practice_files: Mapping[str, str]) -> RunRecord:
    """Keep a run and its tables in the store (replacing a run of the same id: the same inputs); returns the run with
    the time it was recorded, and the time a run of its id was first recorded."""
    with runner.atomic():
        runner.run("runs_schema")
        for name, df in frames.items():
            table = _table(run.kind, name)
            numbered = df.with_row_index("run_row")
            with frame_scan("run_frame", numbered):
                if not _columns(runner, table):
                    runner.execute("runs_create_table", f"CREATE TABLE {table} AS SELECT CAST(NULL AS VARCHAR) "  # noqa: S608
                                   "AS run_id, * FROM run_frame LIMIT 0")
                have = _columns(runner, table)
                for col in numbered.columns:
                    if col not in have:
                        dtype = runner.execute("runs_type", f"SELECT typeof({quote_ident(col)}) FROM run_frame "  # noqa: S608
                                               "LIMIT 1")
                        sql_type = dtype[0][0] if dtype else "VARCHAR"
                        runner.execute("runs_add_column", f"ALTER TABLE {table} ADD COLUMN {quote_ident(col)} "
                                       f"{sql_type}")
                runner.execute("runs_delete_frame", f"DELETE FROM {table} WHERE run_id = $r",  # noqa: S608
                               {"r": run.run_id})
                runner.execute("runs_insert_frame", f"INSERT INTO {table} BY NAME SELECT $r AS run_id, * "  # noqa: S608
                               "FROM run_frame", {"r": run.run_id})
        rows = runner.run("runs_record", run_id=run.run_id, kind=run.kind, tool_version=run.tool_version,
                          incident_sha256=run.incident_sha256, evidence_sha256=run.evidence_sha256,
                          record=json.dumps({**run.as_dict(), "mappings": [dict(m) for m in run.mappings]},
                                            sort_keys=True, default=str),
                          summary=json.dumps(stored(summary)),  # in its order: the report's tables keep it
                          practice_files=json.dumps(dict(practice_files), sort_keys=True),
                          columns=json.dumps({n: df.columns for n, df in frames.items()}, sort_keys=True))
    recorded, first = (str(rows[0][0]), str(rows[0][1])) if rows else ("", "")
    return dataclasses.replace(run, recorded_at=recorded, first_recorded_at=first)


def list_runs(runner: Runner, kind: str | None = None) -> pl.DataFrame:
    """Every recorded run, newest first."""
    runner.run("runs_schema")
    return runner.frame("runs_list", kind=kind)


def load(runner: Runner, kind: str, run_id: str | None = None) -> tuple[RunRecord, dict[str, Any], dict[str, str],
                                                                          dict[str, pl.DataFrame]]:
    """A recorded run (the latest of its kind by default): its record, summary, practice file names and tables."""
    runs = list_runs(runner, kind)
    if runs.is_empty():
        raise ConfigError(f"no {kind} run is recorded in this case", hint=f"run `scoping {kind} CASE` first")
    if run_id is None:
        row = runs.row(0, named=True)
    else:
        match = runs.filter(pl.col("run_id") == run_id)
        if match.is_empty():
            raise ConfigError(f"no recorded {kind} run {run_id!r}",
                              hint="`scoping runs CASE` lists them: " + ", ".join(runs["run_id"].head(5).to_list()))
        row = match.row(0, named=True)
    raw = json.loads(row["record"])
    run = RunRecord(run_id=raw["run_id"], kind=raw["kind"], parameters=raw["parameters"],
                    incident_sha256=raw["incident_sha256"], evidence_sha256=raw["evidence_sha256"],
                    evidence=tuple(raw["evidence"]), sql=raw["sql"], mappings=tuple(raw["mappings"]),
                    trace=tuple(raw["trace"]), tool_version=raw["tool_version"],
                    recorded_at=str(row["recorded_at_utc"]), case_id=raw.get("case_id", ""),
                    first_recorded_at=str(row["first_recorded_at_utc"] or row["recorded_at_utc"]),
                    engine=raw.get("engine") or {})
    columns = json.loads(row["frame_columns"])
    frames = {}
    for table in runner.execute("runs_tables", "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                "AND starts_with(table_name, $p) ORDER BY table_name", {"p": f"run_{kind}_"}):
        name = table[0][len(f"run_{kind}_"):]
        df: pl.DataFrame = runner.con.sql(
            f"SELECT * EXCLUDE (run_id, run_row) FROM {quote_ident(table[0])} WHERE run_id = $r "  # noqa: S608
            "ORDER BY run_row", params={"r": run.run_id}).pl()
        frames[name] = df.select(columns[name]) if name in columns else df
    return run, json.loads(row["summary"]), json.loads(row["practice_files"]), frames
