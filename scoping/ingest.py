"""Ingest: evidence files → canonical `events`, with every line accounted for.

The plan (`scoping.ingest_plan`) says which files to read: new ones, and those to read again because their
source's definition changed (or `--force`), with the files whose judgements depend on them; their stored rows
are removed first. Each file is streamed a batch of lines at a time and mapped by one compiled statement
(`scoping.ingest_read`); every line, mapped or quarantined, is set aside in `ingest_pending`, so memory does not
grow with the file. When every file is read, one pass tells duplicates (same key, same content) from conflicts
(same key, other content: every version kept, flagged) (`ingest_occurrences.sql`, `ingest_classify.sql`), the
events are stored in the order they were set aside (each batch by time), the evidence files are registered with
their line ledger (read = loaded + duplicates + conflicts + quarantined) and the ledger is checked. The whole
ingest is one transaction: interrupted or refused, the store is as it was before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from . import ingest_plan, reference
from .config import CaseConfig, Source, read_settings
from .errors import ConfigError, IntegrityError
from .evidence import sha256_file
from .ingest_read import FileReport, PendingFile, check_columns_present, read_file
from .mapping import ENCODED_LIST, OBJECTS_FLAG
from .readers import fetch_lines
from .store import Runner, arrow_scan, ensure_schema, map_duckdb_error

__all__ = ["FileReport", "IngestReport", "Unmapped", "ensure_account_hours", "ingest", "unmapped_values"]


@dataclass(frozen=True)
class Unmapped:
    """A raw value the mapping left unclassified: `column` is 'action' (stayed `other`) or 'category' (stayed
    `unknown`); `raw_value` is the events' action_raw; `with_patient` counts those naming a patient."""

    source: str
    column: str
    raw_value: str | None
    events: int
    with_patient: int


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    removed: list[ingest_plan.Removed] = field(default_factory=list)  # files case.toml no longer names
    warnings: list[str] = field(default_factory=list)  # column fields no record holds; lists not read

    def summary(self) -> str:
        lines = [f"{'file':40} {'read':>10} {'events':>10} {'dupl.':>8} {'confl.':>7} {'quar.':>8}  status"]
        for f in self.files:
            lines.append(f"{f.path[-40:]:40} {f.lines_read:>10,} {f.events_loaded:>10,} {f.duplicates:>8,} "
                         f"{f.conflicts:>7,} {f.quarantined:>8,}  {f.status}")
        if self.removed:
            lines.append("removed from the store, as case.toml no longer names them (the files themselves are "
                         "untouched):")
            lines.extend(f"  {r.path} ({r.why}): {_n(r.lines_read, 'line')} read; {_n(r.events, 'event')} and "
                         f"{_n(r.quarantined, 'quarantined line')} removed" for r in self.removed)
        lines.extend(f"reference: {r}" for r in self.references)
        lines.extend(f"WARNING: {w}" for w in self.warnings)
        if self.unmapped:
            lines.append("unmapped raw values (events left `other` / `unknown`; add them to the mapping):")
            lines.extend(f"  [sources.{u.source}] {u.column:8} {u.events:>8,} event{'s' if u.events != 1 else ' '}"
                         f"{f' ({u.with_patient:,} naming a patient)' if u.with_patient else ''}: "
                         f"{u.raw_value if u.raw_value is not None else '(no raw value)'}"
                         for u in self.unmapped)
        return "\n".join(lines)


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' if count != 1 else ''}"


def ensure_account_hours(runner: Runner) -> None:
    """Rebuild account_hours (one pass over events) for a store written before scoping kept them per file."""
    if runner.run("account_hours_missing")[0][0]:
        runner.run("account_hours_rebuild")


def unmapped_values(runner: Runner, *, sources: list[str] | None = None, top: int = 10) -> list[Unmapped]:
    """The raw values the mapping left unclassified, the `top` most frequent per source and column."""
    rows = runner.run("ingest_unmapped", sources=sources or [], top=top)
    return [Unmapped(str(s), str(c), v, int(e), int(p)) for s, c, v, e, p in rows]


def _compare_json_versions(runner: Runner, cfg: CaseConfig, pending: list[PendingFile]) -> None:
    """JSON versions of one key whose minified records differ are compared on their text: records that differ
    only in the order of their keys are one version. The few records concerned are read again from their files."""
    rows = runner.run("ingest_json_versions")
    if not rows:
        return
    paths = {f.report.source_id: (f.path, f.sha256) for f in pending}
    wanted: dict[str, list[tuple[str, str, int]]] = {}
    for key, digest, source_id, line in rows:
        wanted.setdefault(source_id, []).append((key, digest, int(line)))
    keys, digests, texts = [], [], []
    for source_id, items in wanted.items():
        if source_id not in paths:
            rel, sha = runner.execute("ingest_version_file", "SELECT path, sha256 FROM evidence WHERE source_id = $s",
                                      {"s": source_id})[0]
            path = Path(rel) if Path(rel).is_absolute() else cfg.root / rel
            if not path.is_file() or sha256_file(path)[0] != sha:
                raise IntegrityError(f"{rel} is needed to compare records with the same key, but it is missing or "
                                     f"changed since it was ingested",
                                     hint="restore it from the acquisition copy, then ingest again")
            paths[source_id] = (path, sha)
        lines = fetch_lines(paths[source_id][0], {line for _, _, line in items})
        for key, digest, line in items:
            if line in lines:  # a record not found keeps its digest: compared as it is, never merged
                keys.append(key)
                digests.append(digest)
                texts.append(lines[line].decode("utf-8", "replace"))
    if not keys:
        return
    table = pa.table({"event_key": pa.array(keys, pa.string()), "digest": pa.array(digests, pa.string()),
                      "txt": pa.array(texts, pa.string())})
    with arrow_scan("staging_versions", table):
        runner.run("ingest_canonical")


def _store_and_register(runner: Runner, cfg: CaseConfig, pending: list[PendingFile], run_id: int) -> None:
    """Tell duplicates from conflicts, store the events, then register each file with its reconciled ledger."""
    runner.execute("ingest_files", "CREATE OR REPLACE TEMP TABLE ingest_files (file_seq INTEGER, source_id VARCHAR, "
                                   "format VARCHAR)")
    if pending:
        files = pa.table({"file_seq": pa.array(range(1, len(pending) + 1), pa.int32()),
                          "source_id": [f.report.source_id for f in pending], "format": [f.format for f in pending]})
        with arrow_scan("staging_files", files):
            runner.execute("ingest_files_fill", "INSERT INTO ingest_files SELECT * FROM staging_files")
    runner.run("ingest_occurrences")
    _compare_json_versions(runner, cfg, pending)
    runner.run("ingest_classify")
    if runner.execute("ingest_any_conflict", "SELECT count(*) FROM ingest_repeats WHERE kind = 'conflict'")[0][0]:
        runner.check("check_ingest_keys")
    runner.run("ingest_store")
    if runner.execute("ingest_any_flag", "SELECT (SELECT count(*) FROM ingest_flag_stored) "
                                         "+ (SELECT count(*) FROM ingest_unflag)")[0][0]:
        runner.run("ingest_flag_conflicts")
    counts = {row[0]: row for row in runner.run("ingest_file_counts")}
    for f in pending:
        rep = f.report
        _, events, accesses, dups, conflicts, dst, first_ts, last_ts = counts.get(
            rep.source_id, (rep.source_id, 0, 0, 0, 0, 0, None, None))
        rep.events_loaded, rep.accesses_loaded, rep.duplicates = int(events), int(accesses), int(dups)
        rep.conflicts, rep.dst_flagged = int(conflicts), int(dst)
        runner.run("ingest_evidence_row", source_id=rep.source_id, source=rep.source, kind="log", path=rep.path,
                   sha256=f.sha256, bytes=f.size, format=f.format, mapping_sha256=f.mapping_sha256,
                   header_lines=f.header_lines, lines_read=rep.lines_read, events_loaded=rep.events_loaded,
                   accesses_loaded=rep.accesses_loaded, duplicates=rep.duplicates, conflicts=rep.conflicts,
                   quarantined=rep.quarantined, dst_flagged=rep.dst_flagged,
                   first_ts=first_ts.isoformat() if first_ts else None,
                   last_ts=last_ts.isoformat() if last_ts else None, status=rep.status, ingest_run=run_id,
                   source_sha256=f.source_sha256, read_settings=read_settings(cfg))


def _check_fields(plan: ingest_plan.Plan, pending: list[PendingFile]) -> list[str]:
    """Every column field of a JSON-lines source is held by some record of its files (checked when all of them
    are read: a source defined anew, or changed): a near miss stops the ingest, a field no record holds is
    warned of."""
    sources = {p.source.name: p.source for p in plan.files}
    warnings: list[str] = []
    for src in sources.values():
        mine = [p for p in plan.files if p.source.name == src.name]
        if src.format != "jsonl" or any(not p.read and not p.status.startswith("same content") for p in mine):
            continue
        reads = [f for f in pending if f.report.source == src.name]
        warnings += check_columns_present(src, set().union(*(f.present for f in reads)),
                                          set().union(*(f.keys for f in reads)), len(reads))
    return warnings


def list_warnings(runner: Runner, source_ids: list[str]) -> list[str]:
    """Patient lists the files just read hold but that gave no patient: lists of objects with no member named
    (`patient_id = "results[].id"`), and lists written as a JSON string (quarantined)."""
    if not source_ids:
        return []
    objects = runner.run("ingest_list_objects", ids=source_ids, flag=OBJECTS_FLAG)
    encoded = runner.run("ingest_list_encoded", ids=source_ids, reason=ENCODED_LIST)
    out = [f"[sources.{s}] field {fld} holds objects, in {_n(int(n), 'event')}: name the member holding the "
           f"patient id (patient_id = \"{fld}[].id\" when they are {{\"id\": ...}}); until then these events name "
           f"no patient" for s, fld, n in objects]
    out += [f"[sources.{s}] {_n(int(n), 'line')} quarantined: {ENCODED_LIST}" for s, n in encoded]
    return out


def ingest(runner: Runner, cfg: CaseConfig, *, sources: list[str] | None = None, progress: bool | None = None,
           force: bool = False, top_unmapped: int = 10) -> IngestReport:
    """Load the named sources (all by default) and the reference tables, in one transaction.

    Files already ingested are skipped, unless their source's definition changed since (they are read again, and
    so are the files whose duplicates or conflicts point at them) or `force` is given (every file read again)."""
    if not cfg.sources:
        raise ConfigError("case.toml defines no [sources]: there is no evidence to ingest",
                          hint="describe the log files under [sources.NAME] (see `scoping init`)")
    chosen: list[Source] = [cfg.source(n) for n in sources] if sources else list(cfg.sources)
    report = IngestReport()
    con = runner.con
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_schema(runner)
        plan = ingest_plan.make(runner, cfg, chosen, force=force)
        report.removed = plan.removed
        if plan.replaced_ids:
            runner.run("ingest_remove", source_ids=plan.replaced_ids)
        else:
            runner.execute("ingest_no_unflag", "CREATE OR REPLACE TEMP TABLE ingest_unflag AS "
                                               "SELECT NULL::VARCHAR AS source_id, NULL::BIGINT AS source_line LIMIT 0")
        runner.run("ingest_staging")
        run_id = int(runner.execute("ingest_run_id",
                                    "SELECT coalesce(max(ingest_run), 0) + 1 FROM ingest_runs")[0][0])
        pending: list[PendingFile] = []
        for planned in plan.files:
            if not planned.read:
                report.files.append(FileReport(planned.source.name, planned.shown, planned.sha256[:16],
                                               planned.status))
                continue
            read = read_file(runner, cfg, planned.source, planned.path, sha=planned.sha256, size=planned.size,
                             status=planned.status, source_sha256=planned.source_sha256, progress=progress,
                             file_seq=len(pending) + 1, signature=planned.signature)
            pending.append(read)
            report.files.append(read.report)
        absent = _check_fields(plan, pending)
        _store_and_register(runner, cfg, pending, run_id)
        report.warnings = absent + list_warnings(runner, [f.report.source_id for f in pending])
        known = {r[0] for r in runner.execute("ingest_known", "SELECT sha256 FROM evidence")}
        report.references = reference.load_all(runner, cfg, known=known, run_id=run_id)
        runner.execute("ingest_drop_staging", """
            DROP TABLE IF EXISTS ingest_pending; DROP TABLE IF EXISTS ingest_occurrences;
            DROP TABLE IF EXISTS ingest_versions;""")
        runner.execute("ingest_run_row", "INSERT INTO ingest_runs VALUES ($r, now(), $f, $s)",
                       {"r": run_id, "f": len(report.files), "s": sum(1 for f in report.files if not any(
                           f is p.report for p in pending))})
        ensure_account_hours(runner)
        runner.check("check_ingest_reconciles")
        runner.check("check_account_hours")
        report.unmapped = unmapped_values(runner, sources=[s.name for s in chosen], top=top_unmapped)
        con.execute("COMMIT")
    except duckdb.Error as exc:  # raised outside the runner (the line reader): still a clean message
        con.execute("ROLLBACK")
        raise map_duckdb_error(exc, "ingest") from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report
