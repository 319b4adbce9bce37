"""Scope: attribute the compromised accounts' segments and compute, per patient and controller, exactly what the
attacker reached — then record the run and return it as a frozen `ScopeResult`.

The stage runs the `scope_*.sql` files in order inside one transaction, then the `check_scope_*` invariants (any
row they return stops it), reads the tables the outputs show, and records the run in the store. It writes no file:
publishing is `ScopeResult.export()` (the lists), `notify` (the kits) and `report`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from . import naming, queries, runs
from ._version import __version__
from .completeness import check_evidence_complete
from .config import CaseConfig
from .engine import DuckDBEngine, Engine
from .errors import ConfigError, InputError
from .incident import Incident, address_key, baseline_start
from .ingest import ensure_account_hours, unmapped_values
from .result import RunRecord, ScopeResult
from .store import Runner

READ_BEFORE_WINDOW = timedelta(days=1)
FIGURE_DAYS_BEFORE, FIGURE_DAYS_AFTER, USUAL_WEEKS = 3, 1, 4
# an empty hour of the windows is usually active when at least this many accounts usually worked at that hour
USUALLY_ACTIVE_ACCOUNTS = 2
# a source's ids are sequential when at least this many records of the windows rise by one this often, line to line
SEQUENCE_MIN_RECORDS, SEQUENCE_MIN_SHARE = 10, 0.9


def _iso(t: datetime) -> str:
    return t.isoformat()


_rows = runs.plain_rows


def require_events(runner: Runner) -> None:
    if not runner.execute("events_present", "SELECT EXISTS (SELECT 1 FROM events)")[0][0]:
        raise InputError("the case store holds no events", hint="run `scoping ingest CASE` first")


def _baseline_split(start: datetime, window_start: datetime) -> tuple[datetime, datetime]:
    """(first whole hour of the baseline, start of the events read): between them the baseline comes from
    account_hours; before, from the events of its first partial hour; after, from the events read."""
    window_hour = window_start.replace(minute=0, second=0, microsecond=0)
    read_start = max(start, window_hour - READ_BEFORE_WINDOW)
    first_full_hour = start.replace(minute=0, second=0, microsecond=0)
    if first_full_hour < start:
        first_full_hour += timedelta(hours=1)
    return min(first_full_hour, read_start), read_start


def _compute(r: Runner, incident: Incident, counted: bool, gap_minutes: int, engine: Engine) -> None:
    accounts = list(incident.compromised_accounts)
    start = baseline_start(incident)
    ensure_account_hours(r)
    first_full_hour, read_start = _baseline_split(start, incident.start)
    r.run("scope_accounts", accounts=accounts)
    engine.run(r, "scope_account_events", read_start=_iso(read_start), scope_end=_iso(incident.end))
    r.run("scope_session_history", accounts=accounts, baseline_start=_iso(start), read_start=_iso(read_start),
          first_window_start=_iso(incident.start))
    values = r.run("scope_distinct_clients")
    ips = incident.matching_ips([v for k, v in values if k == "ip"])
    clients = incident.matching_clients([v for k, v in values if k == "client"])
    r.run("scope_incident_tables", window_starts=[_iso(w.start) for w in incident.windows],
          window_ends=[_iso(w.end) for w in incident.windows], accounts=accounts,
          indicator_ips=ips, indicator_clients=clients, decision_keys=[d.key for d in incident.decisions],
          decision_verdicts=[d.verdict for d in incident.decisions],
          decision_justifications=[d.justification for d in incident.decisions],
          decision_by=[d.by for d in incident.decisions])
    r.run("sessions_derive", gap_minutes=gap_minutes)
    r.run("scope_baseline", accounts=accounts, baseline_start=_iso(start), first_full_hour=_iso(first_full_hour),
          read_start=_iso(read_start), window_start=_iso(incident.start))
    addresses = sorted({v for k, v in values if k == "ip"} | {row[0] for row in r.run("scope_baseline_addresses")})
    r.run("scope_address_keys", addresses=addresses, keys=[address_key(a) for a in addresses])
    r.run("scope_account_sessions")
    r.run("scope_segments", usual_min_days=incident.usual_min_days)
    unmatched = [row[0] for row in r.run("scope_unmatched_decisions")]
    if unmatched:
        raise ConfigError(f"[incident] decisions name no in-window segment or session: {', '.join(unmatched)}",
                          hint="copy the segment_key or session_key from sessions.csv; a decision on a segment the "
                               "windows no longer hold must go")
    r.run("scope_accesses", count_undetermined=counted)
    for name in ("scope_exposures", "scope_pairs", "scope_affected", "scope_attempted"):
        r.run(name)
    r.check("check_scope_in_window")
    r.check("check_scope_reconciles")


def _frames(r: Runner, incident: Incident) -> dict[str, pl.DataFrame]:
    start, end = incident.start, incident.end
    around = {"from_ts": _iso(start - timedelta(days=FIGURE_DAYS_BEFORE)),
              "to_ts": _iso(end + timedelta(days=FIGURE_DAYS_AFTER))}
    usual_from = _iso(start - timedelta(weeks=USUAL_WEEKS))
    frames: dict[str, Callable[[], pl.DataFrame]] = {
        "affected": lambda: r.frame("export_affected"),
        "attempted": lambda: r.frame("export_attempted"),
        "unassigned": lambda: r.frame("export_unassigned"),
        "exposures": lambda: r.frame("export_exposures"),
        "pairs": lambda: r.frame("export_pairs"),
        "accesses": lambda: r.frame("export_accesses"),
        "segments": lambda: r.frame("export_segments"),
        "accounts": lambda: r.frame("export_accounts"),
        "event_segments": lambda: r.frame("export_event_segments"),
        "segment_bars": lambda: r.frame("report_session_bars"),
        "first_reach": lambda: r.frame("report_first_reach"),
        "hourly": lambda: r.frame("report_hourly", **around, baseline_from=usual_from, tz=incident.timezone),
        "heatmap": lambda: r.frame("report_heatmap", tz=incident.timezone,
                                   baseline_start=_iso(baseline_start(incident))),
        "coverage": lambda: r.frame("report_coverage", **around),
        "log_gaps": lambda: r.frame("scope_log_gaps", baseline_from=usual_from, tz=incident.timezone,
                                    min_accounts=USUALLY_ACTIVE_ACCOUNTS),
    }
    made = {name: make() for name, make in frames.items()}
    span = {"from_ts": _iso(start), "to_ts": _iso(end)}
    made["sequence_sources"] = r.frame("scope_sequence_sources", **span, min_records=SEQUENCE_MIN_RECORDS,
                                       min_share=SEQUENCE_MIN_SHARE)
    sequential = made["sequence_sources"].filter(pl.col("sequential"))["source"].to_list()
    made["sequence_gaps"] = r.frame("scope_sequence_gaps", **span, sources=sequential)
    return made


def _gap_ranges(gaps: pl.DataFrame) -> list[dict[str, Any]]:
    """Consecutive hours without any log and of the same reading (usually active or usually quiet), as ranges, with
    the events those hours usually hold in all (the sum of each hour's weekly median: scope_log_gaps.sql)."""
    ranges: list[dict[str, Any]] = []
    for row in gaps.iter_rows(named=True):
        hour, usual, active = row["hour_utc"], float(row["usual_events"] or 0), bool(row["usually_active"])
        if ranges and ranges[-1]["_end"] == hour and ranges[-1]["usually_active"] == active:
            ranges[-1]["_end"] = hour + timedelta(hours=1)
            ranges[-1]["usual_events"] += usual
            ranges[-1]["hours"] += 1
        else:
            ranges.append({"_start": hour, "_end": hour + timedelta(hours=1), "hours": 1, "usual_events": usual,
                           "usually_active": active})
    return [{"start_utc": _iso(g["_start"]), "end_utc": _iso(g["_end"]), "hours": g["hours"],
             "usual_events": round(g["usual_events"], 1), "usually_active": g["usually_active"]} for g in ranges]


def _summary(r: Runner, name: str, incident: Incident, counted: bool, frames: dict[str, pl.DataFrame],
             evidence: list[dict[str, Any]]) -> dict[str, Any]:
    logs = [e for e in evidence if e["kind"] == "log"]

    def total(key: str) -> int:
        return sum(int(e.get(key) or 0) for e in logs)

    activity = {row.pop("verdict"): row for row in _rows(r.frame("summary_activity"))}
    return {
        "case": name,
        "incident": {**incident.parameters(), "count_undetermined": counted},
        "counts": _rows(r.frame("summary_counts"))[0],
        "activity": activity,
        "data_categories": _rows(r.frame("summary_categories")),
        "controllers": _rows(r.frame("summary_controllers")),
        "patient_links": _rows(r.frame("summary_patient_links")),
        "searches_without_patient_list": _rows(r.frame("summary_unknown_patient_sets",
                                                       count_undetermined=counted)),
        "unmapped_in_windows": _rows(r.frame("scope_unmapped")),
        "accounts_without_baseline": [row["account_id"] for row in _rows(r.frame("summary_no_baseline",
                                                                                  usual_min_days=incident.usual_min_days))],
        "unmapped_values": [dataclasses.asdict(u) for u in unmapped_values(r)],
        "log_gaps": _gap_ranges(frames["log_gaps"]),
        "sequence_gaps": {"sources": _rows(frames["sequence_sources"]), "gaps": _rows(frames["sequence_gaps"])},
        "data_quality": {
            "evidence_files": len(logs), "lines_read": total("lines_read"), "events_loaded": total("events_loaded"),
            "duplicates": total("duplicates"), "conflicts": total("conflicts"), "quarantined": total("quarantined"),
            "dst_flagged": total("dst_flagged"), "quarantine_by_reason": _rows(r.frame("summary_quarantine")),
        },
        "tool": {"name": "scoping", "version": __version__},
    }


def scope(runner: Runner, cfg: CaseConfig, incident: Incident, *, count_undetermined: bool | None = None,
          check_evidence: bool = True, home: Path | None = None, record: bool = True,
          as_recorded: dict[str, Any] | None = None, engine: Engine | None = None) -> ScopeResult:
    """Compute and record one scope run of `incident`; `count_undetermined` overrides the incident's own option.
    `record=False` computes without recording, and `as_recorded` (a run's parameters) takes the case's name and
    session gap from the run rather than from case.toml: `verify --recompute` checks a run as it was made. `engine`
    runs the scan of the windows (DuckDB by default); the run records which engine it was."""
    r = runner
    engine = engine or DuckDBEngine()
    require_events(r)
    if check_evidence:
        check_evidence_complete(r, cfg)
    counted = incident.count_undetermined if count_undetermined is None else count_undetermined
    unknown = [row[0] for row in r.run("scope_unknown_accounts", accounts=list(incident.compromised_accounts))]
    if unknown:
        raise ConfigError(f"incident names account(s) unknown to the accounts table: {', '.join(unknown)}",
                          hint="check the spelling in [incident] compromised_accounts, or add them to "
                               "the accounts reference table")
    gap = int((as_recorded or {}).get("session_gap_minutes", cfg.session_gap_minutes))
    name = str((as_recorded or {}).get("case_name", cfg.name))
    first = len(r.trace)
    with r.atomic(), engine.stage():
        _compute(r, incident, counted, gap, engine)
    frames = _frames(r, incident)
    digest, evidence = runs.evidence_state(r)
    summary = runs.stored(_summary(r, name, incident, counted, frames, evidence))
    parameters = {**incident.parameters(), "count_undetermined": counted, "session_gap_minutes": gap,
                  "case_name": name}
    sql = {q.name: q.sha256 for q in queries.all_queries()}
    mappings = _rows(r.frame("summary_mappings"))
    # the statements that produced these results, in order, with their bound values and row counts (durations are
    # left out so that the same inputs give the same record)
    trace = tuple({"query": t.name, "sql_sha256": t.sql_sha256, "params": t.params, "rows": t.rows}
                  for t in r.trace[first:])
    run = RunRecord(run_id=RunRecord.make_id("scope", parameters, digest, sql), kind="scope", parameters=parameters,
                    incident_sha256=incident.digest(), evidence_sha256=digest, evidence=tuple(evidence), sql=sql,
                    mappings=tuple(mappings), trace=trace, case_id=runs.case_id(r), engine=engine.record())
    practices = [p for p in pl.concat([frames["affected"]["practice_id"], frames["attempted"]["practice_id"]])
                 .unique().to_list() if p is not None]
    practice_files = naming.practice_files(practices)
    if record:
        run = runs.record(r, run, frames, summary, practice_files)
    return ScopeResult(run=run, incident=incident, frames=frames, summary=summary, practice_files=practice_files,
                       home=home)


def load_run(runner: Runner, run_id: str | None = None, *, home: Path | None = None) -> ScopeResult:
    """A recorded scope run (the latest by default), exactly as it was computed."""
    run, summary, practice_files, frames = runs.load(runner, "scope", run_id)
    return ScopeResult(run=run, incident=Incident.from_parameters(dict(run.parameters)), frames=frames,
                       summary=summary, practice_files=practice_files, home=home)
