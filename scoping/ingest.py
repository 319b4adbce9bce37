"""Ingest: evidence files → canonical `events`, with every line accounted for.

Each file is streamed a batch of lines at a time (Arrow data the queries read as `staging_lines`) and mapped
by one compiled statement (`scoping.mapping`); every line, mapped or quarantined, is set aside in
`ingest_pending`, so memory does not grow with the file. When every file is read, one pass finds the duplicates
(`ingest_classify.sql`), the events are stored in the order they were set aside (each batch by time), the
evidence files are registered with their line ledger and the ledger is checked. The whole ingest is one
transaction: interrupted, the store is as it was before.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import formats, mapping, queries, reference
from .config import CaseConfig, Source
from .errors import ConfigError, InputError
from .evidence import display_path, expand, sha256_file, stat_signature
from .readers import LINES, Progress, stream_lines
from .store import Runner, map_duckdb_error


@dataclass
class FileReport:
    source: str
    path: str
    source_id: str
    status: str
    lines_read: int = 0
    events_loaded: int = 0
    accesses_loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    dst_flagged: int = 0


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{'file':40} {'read':>10} {'events':>10} {'dupl.':>8} {'quar.':>8}  status"]
        for f in self.files:
            lines.append(f"{f.path[-40:]:40} {f.lines_read:>10,} {f.events_loaded:>10,} {f.duplicates:>8,} "
                         f"{f.quarantined:>8,}  {f.status}")
        lines.extend(f"reference: {r}" for r in self.references)
        return "\n".join(lines)


def _staging(runner: Runner) -> None:
    runner.execute("ingest_staging", """
        CREATE OR REPLACE TABLE ingest_pending AS
        SELECT * EXCLUDE (patient_id), NULL::VARCHAR[] AS patients, NULL::INTEGER AS file_seq,
               NULL::VARCHAR AS problem, NULL::VARCHAR AS txt, NULL::BLOB AS raw
        FROM events LIMIT 0;""")


def _read_header(runner: Runner, src: Source, path: str) -> list[str]:
    if not src.header:
        return list(src.column_names)
    rows = runner.execute("ingest_header", "SELECT try(decode(raw)) FROM staging_lines WHERE source_line = 1")
    if not rows or rows[0][0] is None:
        raise InputError(f"{path}: the first line (the header) is missing or not UTF-8",
                         hint="set header = false and column_names = [...] if the file has no header")
    text = rows[0][0].rstrip("\r").lstrip("\ufeff")
    header = next(csv.reader(io.StringIO(text), delimiter=src.delimiter, quotechar=src.quote or '"'))
    return [h.strip() for h in header]


BATCH_LINES = 250_000


@dataclass
class _PendingFile:
    """An evidence file read in this ingest, registered once the duplicate check has run."""

    report: FileReport
    sha256: str
    size: int
    format: str
    mapping_sha256: str
    header_lines: int


class _Batches:
    """Maps one file's lines a batch at a time into ingest_pending, counting its lines and quarantined lines."""

    def __init__(self, runner: Runner, src: Source, mapped_src: Source, source_id: str,
                 shown: str, file: Path, file_seq: int) -> None:
        self.runner, self.src, self.mapped_src = runner, src, mapped_src
        self.source_id, self.shown, self.file, self.file_seq = source_id, shown, file, file_seq
        self.header: list[str] | None = None
        self.compiled: mapping.Compiled | None = None  # compiled once per file, run for every batch
        self.sql_text: str = ""
        self.params: dict[str, object] = {}
        self.lines = 0
        self.quarantined = 0

    def process(self, *, input_sql: str = LINES) -> None:
        """Map the batch visible as `input_sql` and append its rows to ingest_pending."""
        r, src = self.runner, self.src
        if src.format == "fhir":
            self.sql_text, self.params = queries.get("format_fhir_auditevent").text, {"tz": src.timezone}
        else:
            if self.mapped_src.format in ("csv", "tsv") and self.header is None:
                self.header = _read_header(r, self.mapped_src, self.shown)
            if self.compiled is None:
                self.compiled = mapping.compile_source(self.mapped_src, header=self.header, input_sql=input_sql)
            self.sql_text, self.params = self.compiled.sql, dict(self.compiled.params)
            if src.format == "parquet":
                self.params["parquet_path"] = str(self.file)
        first, last = (0, 2**62) if input_sql != LINES else r.execute("ingest_batch_range", """
            SELECT coalesce(min(source_line), 0), coalesce(max(source_line), -1) FROM staging_lines""")[0]
        if first > last:
            return  # an empty batch (an empty file): nothing to map
        insert = (f"INSERT INTO ingest_pending BY NAME\nSELECT *, $ingest_source_id AS source_id, "
                  f"$ingest_file_seq AS file_seq\nFROM (\n{self.sql_text}\n)\nORDER BY ts, source_line")
        try:
            r.execute(f"mapping:{src.name}", insert,
                      {**self.params, "ingest_source_id": self.source_id, "ingest_file_seq": self.file_seq})
        except InputError as exc:
            if src.format != "parquet":
                raise
            raise InputError(f"{self.shown}: not a readable Parquet file ({exc.message})") from exc
        lines, quarantined, naive_line = r.run("ingest_batch_counts", file_seq=self.file_seq, first_line=first,
                                               last_line=last)[0]
        if naive_line is not None:
            raise ConfigError(
                f"[sources.{src.name}] {self.shown}, line {naive_line}: the timestamp has no UTC offset and the "
                f"source names no time zone",
                hint=f"add timezone = \"Europe/Paris\" (the zone the logging server used) to [sources.{src.name}]")
        self.lines += lines
        self.quarantined += quarantined

    def note_truncation(self, last_line: int, reason: str) -> None:
        """The unreadable rest of a damaged compressed file: one quarantine line after the last line read."""
        self.runner.run("ingest_note_truncation", source_id=self.source_id, file_seq=self.file_seq,
                        source_line=last_line + 1, reason=reason)
        self.lines += 1
        self.quarantined += 1


def _read_file(runner: Runner, cfg: CaseConfig, src: Source, file: Path, known: set[str],
               progress: bool | None, file_seq: int) -> _PendingFile | FileReport:
    """Read one evidence file into ingest_pending; an already ingested file is only reported."""
    shown = display_path(cfg.root, file)
    before = stat_signature(file)
    sha, size = sha256_file(file)
    source_id = sha[:16]
    if sha in known:
        return FileReport(src.name, shown, source_id, "already ingested (same SHA-256): nothing loaded")
    known.add(sha)
    mapped_src = formats.openemr_source(src) if src.format == "openemr" else src
    is_csv = mapped_src.format in ("csv", "tsv")
    batch = _Batches(runner, src, mapped_src, source_id, shown, file, file_seq)
    header_lines = 0
    truncated: str | None = None
    if src.format == "parquet":
        batch.process(input_sql="read_parquet($parquet_path, file_row_number = true)")
    else:
        bar = Progress(shown, enabled=progress)
        read = formats.read_fhir if src.format == "fhir" else stream_lines
        # a file of any size is mapped and set aside BATCH_LINES lines at a time
        result = read(file, bar, on_batch=batch.process, batch_lines=BATCH_LINES)
        truncated = result.truncated
        header_lines = 1 if is_csv and mapped_src.header and result.lines else 0
        if truncated:
            batch.note_truncation(result.lines, truncated)
    if src.format == "openemr" and src.api_log:
        _join_openemr_api_log(runner, cfg, src, file_seq)
    if stat_signature(file) != before:
        raise InputError(f"{shown} changed while it was being read (size or modification time differ)",
                         hint="ingest from a copy that nothing writes to (an acquisition copy)")
    sql_text, params = batch.sql_text, batch.params
    mapping_sha = hashlib.sha256((sql_text + json.dumps(params, sort_keys=True, default=str)).encode()).hexdigest()
    runner.run("ingest_mapping_row", mapping_sha256=mapping_sha, source=src.name, sql=sql_text,
               params=json.dumps(params, sort_keys=True, default=str))
    status = "loaded" if not truncated else "loaded; file truncated"
    report = FileReport(src.name, shown, source_id, status, lines_read=batch.lines, quarantined=batch.quarantined)
    return _PendingFile(report, sha, size, src.format, mapping_sha, header_lines)


def _store_and_register(runner: Runner, pending: list[_PendingFile], run_id: int) -> None:
    """Find the duplicates, store the events, then register each file with its reconciled ledger."""
    runner.run("ingest_classify")
    runner.run("ingest_store")
    counts = {row[0]: row for row in runner.run("ingest_file_counts")}
    for f in pending:
        rep = f.report
        _, events, accesses, dups, dst, first_ts, last_ts = counts.get(rep.source_id,
                                                                       (rep.source_id, 0, 0, 0, 0, None, None))
        rep.events_loaded, rep.accesses_loaded, rep.duplicates, rep.dst_flagged = events, accesses, dups, dst
        runner.run("ingest_evidence_row", source_id=rep.source_id, source=rep.source, kind="log", path=rep.path,
                   sha256=f.sha256, bytes=f.size, format=f.format, mapping_sha256=f.mapping_sha256,
                   header_lines=f.header_lines, lines_read=rep.lines_read, events_loaded=events,
                   accesses_loaded=accesses, duplicates=dups, quarantined=rep.quarantined, dst_flagged=dst,
                   first_ts=first_ts, last_ts=last_ts, status=rep.status, ingest_run=run_id)


def ensure_account_hours(runner: Runner) -> None:
    """Rebuild account_hours (one pass over events) for a store ingested before scoping kept them."""
    if runner.run("account_hours_missing")[0][0]:
        runner.run("account_hours_rebuild")


def _join_openemr_api_log(runner: Runner, cfg: CaseConfig, src: Source, file_seq: int) -> None:
    path = cfg.root / src.api_log if src.api_log and not Path(src.api_log).is_absolute() else Path(src.api_log or "")
    if not path.is_file():
        raise InputError(f"[sources.{src.name}] api_log file {src.api_log} not found",
                         hint="fix api_log in case.toml, or remove it if the export has no api_log")
    runner.run("format_openemr_api_join", api_log_path=str(path), key_prefix=f"{src.name}:", file_seq=file_seq)


def ingest(runner: Runner, cfg: CaseConfig, *, sources: list[str] | None = None,
           progress: bool | None = None) -> IngestReport:
    """Load the named sources (all by default) and the reference tables, in one transaction."""
    chosen = [cfg.source(n) for n in sources] if sources else list(cfg.sources)
    report = IngestReport()
    con = runner.con
    con.execute("BEGIN TRANSACTION")
    try:
        runner.run("store_schema")
        _staging(runner)
        known = {r[0] for r in runner.execute("ingest_known", "SELECT sha256 FROM evidence")}
        run_id = int(runner.execute("ingest_run_id",
                                    "SELECT coalesce(max(ingest_run), 0) + 1 FROM ingest_runs")[0][0])
        pending: list[_PendingFile] = []
        for src in chosen:
            files = expand(cfg.root, src.files, where=f"[sources.{src.name}]")
            for file in files:
                read = _read_file(runner, cfg, src, file, known, progress, file_seq=len(pending) + 1)
                if isinstance(read, _PendingFile):
                    pending.append(read)
                    report.files.append(read.report)
                else:
                    report.files.append(read)
        _store_and_register(runner, pending, run_id)
        report.references = reference.load_all(runner, cfg, known=known, run_id=run_id)
        runner.execute("ingest_drop_staging", """
            DROP TABLE IF EXISTS ingest_pending; DROP TABLE IF EXISTS ingest_repeats;""")
        runner.execute("ingest_run_row", "INSERT INTO ingest_runs VALUES ($r, now(), $f, $s)",
                       {"r": run_id, "f": len(report.files),
                        "s": sum(1 for f in report.files if f.status.startswith("already"))})
        runner.check("check_ingest_reconciles")
        runner.check("check_account_hours")
        con.execute("COMMIT")
    except duckdb.Error as exc:  # raised outside the runner (the line reader): still a clean message
        con.execute("ROLLBACK")
        raise map_duckdb_error(exc, "ingest") from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report

