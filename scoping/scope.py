"""Scope: attribute the compromised accounts' sessions and compute, per patient and controller, exactly
what the attacker reached.

The stage runs the `scope_*.sql` files in order, then the `check_scope_*` invariants; any check that
returns rows stops it. Results are polars DataFrames; `ScopeResult.export()` writes CASE/out/.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from . import manifest
from ._version import __version__
from .errors import ConfigError, IntegrityError
from .evidence import sha256_file
from .export import csv_bytes, csv_groups, json_bytes, private_dir, pseudonymise, safe_name, write_private
from .incident import Incident, baseline_start
from .ingest import ensure_account_hours

if TYPE_CHECKING:
    from .case import Case



def _iso(t: datetime) -> str:
    return t.isoformat()


@dataclass
class ScopeResult:
    """What `case.scope()` returns: the tables as polars DataFrames, the summary, and `export()`."""

    incident: Incident
    affected: pl.DataFrame
    attempted: pl.DataFrame
    exposures: pl.DataFrame
    sessions: pl.DataFrame
    accounts: pl.DataFrame
    summary: dict[str, Any]
    case: Case = field(repr=False)
    outputs: dict[str, str] = field(default_factory=dict, repr=False)
    pseudonymised: bool = False
    trace: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def by_controller(self, practice_id: str) -> pl.DataFrame:
        return self.affected.filter(pl.col("practice_id") == practice_id)

    def export(self, out: str | Path | None = None, *, pseudonymise_key: bytes | None = None) -> Path:
        """Write every output of DESIGN.md's table into `out` (CASE/out by default) and the manifest.

        With `pseudonymise_key`, every patient id is replaced by a keyed hash (HMAC-SHA256) in every file:
        a set of outputs to share with someone who must not identify patients (an external expert). The
        key is never written; the same key gives the same pseudonyms, so lists can be matched later."""
        if pseudonymise_key is not None and len(pseudonymise_key) < 16:
            raise ConfigError("the pseudonymisation key is too short", hint="use at least 16 random bytes")
        return _export(self, Path(out) if out else self.case.root / "out", pseudonymise_key)

    def write_manifest(self, out: Path) -> Path:
        """(Re)write out/manifest.json over every output written so far (exports, report, kits)."""
        return _write_manifest(self, out)


def _summary(case: Case, incident: Incident, count_undetermined: bool) -> dict[str, Any]:
    r = case.runner

    def rows(name: str, **params: Any) -> list[dict[str, Any]]:
        df = r.frame(name, **params)
        return [{k: (_iso(v) if isinstance(v, datetime) else v) for k, v in row.items()}
                for row in df.iter_rows(named=True)]

    counts = rows("summary_counts")[0]
    quarantine = rows("summary_quarantine")
    gaps = [row["hour_utc"] for row in rows("scope_log_gaps")]
    evidence = rows("summary_evidence")
    params = incident.parameters()
    params["count_undetermined"] = count_undetermined
    return {
        "case": case.config.name,
        "incident": params,
        "counts": counts,
        "data_categories": rows("summary_categories"),
        "controllers": rows("summary_controllers"),
        "patient_links": rows("summary_patient_links"),
        "searches_without_patient_list": rows("summary_unknown_patient_sets", count_undetermined=count_undetermined),
        "log_gaps_utc": gaps,
        "data_quality": {
            "evidence_files": sum(1 for e in evidence if e["kind"] == "log"),
            "lines_read": sum(e["lines_read"] or 0 for e in evidence if e["kind"] == "log"),
            "events_loaded": sum(e["events_loaded"] or 0 for e in evidence if e["kind"] == "log"),
            "duplicates": sum(e["duplicates"] or 0 for e in evidence if e["kind"] == "log"),
            "quarantined": sum(e["quarantined"] or 0 for e in evidence if e["kind"] == "log"),
            "dst_flagged": sum(e["dst_flagged"] or 0 for e in evidence if e["kind"] == "log"),
            "quarantine_by_reason": quarantine,
        },
        "tool": {"name": "scoping", "version": __version__},
    }


def check_evidence_unchanged(case: Case) -> int:
    """Re-hash every evidence file registered in the store; any difference stops the run (forensic practice:
    re-verify before every analysis). Returns the number of files checked."""
    rows = case.runner.execute("evidence_registered", "SELECT path, sha256 FROM evidence "
                               "WHERE NOT starts_with(status, 'superseded') ORDER BY path")
    changed = []
    for rel, recorded in rows:
        path = Path(rel) if Path(rel).is_absolute() else case.root / rel
        if not path.is_file():
            changed.append(f"{rel} (missing)")
        elif sha256_file(path)[0] != recorded:
            changed.append(f"{rel} (SHA-256 differs from the one recorded at ingest)")
    if changed:
        raise IntegrityError("evidence changed since it was ingested: " + "; ".join(changed),
                             hint="restore the original files from the acquisition copy; if the change is "
                                  "legitimate, ingest into a new case")
    return len(rows)


READ_BEFORE_WINDOW = timedelta(days=1)


def _baseline_split(start: datetime, window_start: datetime) -> tuple[datetime, datetime]:
    """(first whole hour of the baseline, start of the events read): between them the baseline comes from
    account_hours; before, from the events of its first partial hour; after, from the events read."""
    window_hour = window_start.replace(minute=0, second=0, microsecond=0)
    read_start = max(start, window_hour - READ_BEFORE_WINDOW)
    first_full_hour = start.replace(minute=0, second=0, microsecond=0)
    if first_full_hour < start:
        first_full_hour += timedelta(hours=1)
    return min(first_full_hour, read_start), read_start


def scope(case: Case, incident: Incident, *, count_undetermined: bool | None = None,
          verify_evidence: bool = True) -> ScopeResult:
    case.require_events()
    if verify_evidence:
        check_evidence_unchanged(case)
    r = case.runner
    first = len(r.trace)
    counted = incident.count_undetermined if count_undetermined is None else count_undetermined
    accounts = list(incident.compromised_accounts)
    unknown = [row[0] for row in r.run("scope_unknown_accounts", accounts=accounts)]
    if unknown:
        raise ConfigError(f"incident names account(s) unknown to the accounts table: {', '.join(unknown)}",
                          hint="check the spelling in [incident] compromised_accounts, or add them to "
                               "the accounts reference table")
    start = baseline_start(incident)
    con = r.con
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_account_hours(r)
        first_full_hour, read_start = _baseline_split(start, incident.start)
        r.run("scope_account_events", accounts=accounts, read_start=_iso(read_start), scope_end=_iso(incident.end))
        r.run("scope_baseline", accounts=accounts, baseline_start=_iso(start), first_full_hour=_iso(first_full_hour),
              read_start=_iso(read_start), window_start=_iso(incident.start))
        values = r.run("scope_distinct_clients")
        ips = incident.matching_ips([v for k, v in values if k == "ip"])
        clients = incident.matching_clients([v for k, v in values if k == "client"])
        r.run("scope_incident_tables", window_starts=[_iso(w.start) for w in incident.windows],
              window_ends=[_iso(w.end) for w in incident.windows], accounts=accounts,
              indicator_ips=ips, indicator_clients=clients)
        r.run("sessions_derive", gap_minutes=case.config.session_gap_minutes)
        r.run("scope_account_sessions")
        r.run("scope_sessions")
        r.run("scope_accesses", count_undetermined=counted)
        r.run("scope_exposures")
        r.run("scope_affected")
        r.run("scope_attempted")
        r.check("check_scope_in_window")
        r.check("check_scope_controllers")
        r.check("check_scope_reconciles")
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    result = ScopeResult(
        incident=incident,
        affected=r.frame("export_affected"),
        attempted=r.frame("export_attempted"),
        exposures=r.frame("export_exposures"),
        sessions=r.frame("export_sessions"),
        accounts=r.frame("export_accounts"),
        summary=_summary(case, incident, counted),
        case=case,
    )
    # the statements that produced these results, in order, with their bound values and row counts
    # (durations are left out so that the same inputs give the same manifest)
    result.trace = [{"query": t.name, "sql_sha256": t.sql_sha256, "params": t.params, "rows": t.rows}
                    for t in r.trace[first:]]
    return result


def _export(result: ScopeResult, out: Path, key: bytes | None = None) -> Path:
    private_dir(out)
    written = result.outputs
    written.clear()

    def put(rel: str, data: bytes) -> None:
        written[rel] = write_private(out / rel, data)

    def safe(df: pl.DataFrame) -> pl.DataFrame:
        return pseudonymise(df, key) if key else df

    result.pseudonymised = key is not None
    put("affected_patients.csv", csv_bytes(safe(result.affected)))
    by_controller = out / "by_controller"
    if by_controller.exists():
        shutil.rmtree(by_controller)
    private_dir(by_controller)
    for practice, data in csv_groups(safe(result.affected), "practice_id"):  # rows are sorted by practice
        put(f"by_controller/{safe_name(practice)}.csv", data)
    put("attempted_patients.csv", csv_bytes(safe(result.attempted)))
    put("exposures.csv", csv_bytes(safe(result.exposures)))
    put("sessions.csv", csv_bytes(result.sessions))
    put("accounts.csv", csv_bytes(result.accounts))
    put("summary.json", json_bytes(result.summary))
    _write_manifest(result, out)
    return out


def _write_manifest(result: ScopeResult, out: Path) -> Path:
    case = result.case
    evidence = [{k: row[k] for k in ("path", "sha256", "bytes", "source", "kind", "lines_read", "events_loaded",
                                     "duplicates", "quarantined", "mapping_sha256")}
                for row in case.runner.frame("summary_evidence").iter_rows(named=True)]
    from . import queries

    sql = {q.name: q.sha256 for q in queries.all_queries()}
    mappings = case.sql("SELECT source, mapping_sha256 FROM mappings ORDER BY source, mapping_sha256")
    for row in mappings.iter_rows(named=True):
        sql[f"mapping:{row['source']}:{row['mapping_sha256'][:16]}"] = row["mapping_sha256"]
    parameters = {**result.summary["incident"], "patient_ids_pseudonymised": result.pseudonymised}
    return manifest.write(out, parameters=parameters, evidence=evidence, sql=sql, trace=result.trace,
                          outputs=result.outputs, engine={"duckdb": duckdb.__version__, "polars": pl.__version__})
