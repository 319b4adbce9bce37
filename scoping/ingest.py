"""Ingest: evidence files → canonical `events`, with every line accounted for.

Each file is streamed into `staging_lines`, mapped by one compiled statement (`scoping.mapping`),
classified as event / duplicate / quarantine (`ingest_classify.sql`) and stored. When all files are
done, events are merged into the sorted `events` table and the line ledger is checked. The whole
ingest is one transaction: interrupted, the store is as it was before.
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
from .readers import Progress, stream_lines
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
        CREATE OR REPLACE TEMP TABLE staging_lines (source_line BIGINT, raw BLOB);
        CREATE OR REPLACE TEMP TABLE staging_events AS SELECT * FROM events LIMIT 0;""")


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


BATCH_LINES = 1_000_000


class _Batches:
    """Maps, classifies and stores the staged lines of one file, one batch at a time, adding up its ledger."""

    def __init__(self, runner: Runner, cfg: CaseConfig, src: Source, mapped_src: Source, source_id: str,
                 shown: str, file: Path) -> None:
        self.runner, self.cfg, self.src, self.mapped_src = runner, cfg, src, mapped_src
        self.source_id, self.shown, self.file = source_id, shown, file
        self.header: list[str] | None = None
        self.compiled: mapping.Compiled | None = None  # compiled once per file, run for every batch
        self.sql_text: str = ""
        self.params: dict[str, object] = {}
        self.totals = {"lines": 0, "events": 0, "dups": 0, "quar": 0, "dst": 0}
        self.accesses = 0
        self.first_ts: object = None
        self.last_ts: object = None

    def process(self, *, input_sql: str = "staging_lines", truncated: str | None = None,
                last_line: int | None = None) -> None:
        r, src = self.runner, self.src
        if src.format == "fhir":
            self.sql_text, self.params = queries.get("format_fhir_auditevent").text, {"tz": src.timezone}
            r.run("format_fhir_auditevent", tz=src.timezone)
        else:
            if self.mapped_src.format in ("csv", "tsv") and self.header is None:
                self.header = _read_header(r, self.mapped_src, self.shown)
            if self.compiled is None:
                self.compiled = mapping.compile_source(self.mapped_src, header=self.header, input_sql=input_sql)
            compiled = self.compiled
            self.sql_text, self.params = compiled.sql, dict(compiled.params)
            if src.format == "parquet":
                self.params["parquet_path"] = str(self.file)
            try:
                r.execute(f"mapping:{src.name}", compiled.sql, self.params)
            except InputError as exc:
                if src.format != "parquet":
                    raise
                raise InputError(f"{self.shown}: not a readable Parquet file ({exc.message})") from exc
        if src.format == "openemr" and src.api_log:
            _join_openemr_api_log(r, self.cfg, src)
        if truncated:
            r.run("ingest_note_truncation", source_line=int(last_line or 0) + 1, reason=truncated)
        naive = r.execute("ingest_naive_check", """
            SELECT min(source_line) FROM staging_mapped WHERE problem = 'timestamp without offset'""")
        if naive and naive[0][0] is not None:
            raise ConfigError(
                f"[sources.{src.name}] {self.shown}, line {naive[0][0]}: the timestamp has no UTC offset and the "
                f"source names no time zone",
                hint=f"add timezone = \"Europe/Paris\" (the zone the logging server used) to [sources.{src.name}]")
        r.run("ingest_classify")
        r.run("ingest_store", source_id=self.source_id)
        lines, events, accesses, dups, quar, dst, first_ts, last_ts = r.run(
            "ingest_file_counts", source_id=self.source_id)[0]
        for key, value in (("lines", lines), ("events", events), ("dups", dups), ("quar", quar), ("dst", dst)):
            self.totals[key] += value
        self.accesses = accesses  # counted over the whole file so far
        if first_ts is not None:
            self.first_ts = first_ts if self.first_ts is None else min(self.first_ts, first_ts)  # type: ignore[call-overload]
            self.last_ts = last_ts if self.last_ts is None else max(self.last_ts, last_ts)  # type: ignore[call-overload]
        r.execute("ingest_clear_lines", "DELETE FROM staging_lines")


def _ingest_file(runner: Runner, cfg: CaseConfig, src: Source, file: Path, run_id: int,
                 known: set[str], progress: bool | None) -> FileReport:
    shown = display_path(cfg.root, file)
    before = stat_signature(file)
    sha, size = sha256_file(file)
    source_id = sha[:16]
    if sha in known:
        return FileReport(src.name, shown, source_id, "already ingested (same SHA-256): nothing loaded")
    known.add(sha)
    runner.execute("ingest_clear_lines", "DELETE FROM staging_lines")
    mapped_src = formats.openemr_source(src) if src.format == "openemr" else src
    is_csv = mapped_src.format in ("csv", "tsv")
    batch = _Batches(runner, cfg, src, mapped_src, source_id, shown, file)
    header_lines = 0
    truncated: str | None = None
    if src.format == "parquet":
        batch.process(input_sql="read_parquet($parquet_path, file_row_number = true)")
    else:
        bar = Progress(shown, enabled=progress)
        if src.format == "fhir":
            result = formats.read_fhir(runner.con, file, "staging_lines", bar)
        else:  # a file of any size is staged, mapped and stored BATCH_LINES lines at a time
            result = stream_lines(runner.con, file, "staging_lines", bar, on_batch=batch.process,
                                  batch_lines=BATCH_LINES)
        truncated = result.truncated
        header_lines = 1 if is_csv and mapped_src.header and result.lines else 0
        batch.process(truncated=truncated, last_line=result.lines)
    if stat_signature(file) != before:
        raise InputError(f"{shown} changed while it was being read (size or modification time differ)",
                         hint="ingest from a copy that nothing writes to (an acquisition copy)")
    sql_text, params = batch.sql_text, batch.params
    mapping_sha = hashlib.sha256((sql_text + json.dumps(params, sort_keys=True, default=str)).encode()).hexdigest()
    lines_read, events, dups, quar, dst = (batch.totals[k] for k in ("lines", "events", "dups", "quar", "dst"))
    accesses, first_ts, last_ts = batch.accesses, batch.first_ts, batch.last_ts
    status = "loaded" if not truncated else "loaded; file truncated"
    runner.run("ingest_mapping_row", mapping_sha256=mapping_sha, source=src.name, sql=sql_text,
               params=json.dumps(params, sort_keys=True, default=str))
    runner.run("ingest_evidence_row", source_id=source_id, source=src.name, kind="log", path=shown, sha256=sha,
               bytes=size, format=src.format, mapping_sha256=mapping_sha, header_lines=header_lines,
               lines_read=lines_read, events_loaded=events, accesses_loaded=accesses, duplicates=dups,
               quarantined=quar, dst_flagged=dst, first_ts=first_ts, last_ts=last_ts, status=status,
               ingest_run=run_id)
    return FileReport(src.name, shown, source_id, status, lines_read, events, accesses, dups, quar, dst)


def _join_openemr_api_log(runner: Runner, cfg: CaseConfig, src: Source) -> None:
    path = cfg.root / src.api_log if src.api_log and not Path(src.api_log).is_absolute() else Path(src.api_log or "")
    if not path.is_file():
        raise InputError(f"[sources.{src.name}] api_log file {src.api_log} not found",
                         hint="fix api_log in case.toml, or remove it if the export has no api_log")
    runner.run("format_openemr_api_join", api_log_path=str(path), key_prefix=f"{src.name}:")


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
        for src in chosen:
            files = expand(cfg.root, src.files, where=f"[sources.{src.name}]")
            for file in files:
                report.files.append(_ingest_file(runner, cfg, src, file, run_id, known, progress))
        report.references = reference.load_all(runner, cfg, known=known, run_id=run_id)
        runner.run("ingest_merge_events")
        runner.execute("ingest_drop_staging", """
            DROP TABLE IF EXISTS staging_events; DROP TABLE IF EXISTS staging_mapped;
            DROP TABLE IF EXISTS staging_classified; DROP TABLE IF EXISTS staging_lines;""")
        runner.execute("ingest_run_row", "INSERT INTO ingest_runs VALUES ($r, now(), $f, $s)",
                       {"r": run_id, "f": len(report.files),
                        "s": sum(1 for f in report.files if f.status.startswith("already"))})
        runner.check("check_ingest_reconciles")
        con.execute("COMMIT")
    except duckdb.Error as exc:  # raised outside the runner (the line reader): still a clean message
        con.execute("ROLLBACK")
        raise map_duckdb_error(exc, "ingest") from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report

