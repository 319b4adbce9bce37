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
    header_lines = 0
    truncated: str | None = None
    mapped_src = formats.openemr_source(src) if src.format == "openemr" else src
    if src.format == "parquet":
        input_sql = "read_parquet($parquet_path, file_row_number = true)"
        header: list[str] | None = None
    else:
        bar = Progress(shown, enabled=progress)
        reader = formats.read_fhir if src.format == "fhir" else stream_lines
        result = reader(runner.con, file, "staging_lines", bar)
        truncated = result.truncated
        is_csv = mapped_src.format in ("csv", "tsv")
        header = _read_header(runner, mapped_src, shown) if is_csv else None
        header_lines = 1 if is_csv and mapped_src.header and result.lines else 0
        input_sql = "staging_lines"
    if src.format == "fhir":
        sql_text, params = queries.get("format_fhir_auditevent").text, {"tz": src.timezone}
        runner.run("format_fhir_auditevent", tz=src.timezone)
    else:
        compiled = mapping.compile_source(mapped_src, source_id=source_id, header=header, input_sql=input_sql)
        sql_text, params = compiled.sql, dict(compiled.params)
        if src.format == "parquet":
            params["parquet_path"] = str(file)
        try:
            runner.execute(f"mapping:{src.name}", compiled.sql, params)
        except InputError as exc:
            if src.format != "parquet":
                raise
            raise InputError(f"{shown}: not a readable Parquet file ({exc.message})") from exc
    if stat_signature(file) != before:
        raise InputError(f"{shown} changed while it was being read (size or modification time differ)",
                         hint="ingest from a copy that nothing writes to (an acquisition copy)")
    if src.format == "openemr" and src.api_log:
        _join_openemr_api_log(runner, cfg, src)
    mapping_sha = hashlib.sha256((sql_text + json.dumps(params, sort_keys=True, default=str)).encode()).hexdigest()
    if truncated:
        last = runner.execute("ingest_last_line", "SELECT coalesce(max(source_line), 0) FROM staging_mapped")
        runner.run("ingest_note_truncation", source_line=int(last[0][0]) + 1, reason=truncated)
    naive = runner.execute("ingest_naive_check", """
        SELECT min(source_line) FROM staging_mapped WHERE problem = 'timestamp without offset'""")
    if naive and naive[0][0] is not None:
        raise ConfigError(
            f"[sources.{src.name}] {shown}, line {naive[0][0]}: the timestamp has no UTC offset and the "
            f"source names no time zone",
            hint=f"add timezone = \"Europe/Paris\" (the zone the logging server used) to [sources.{src.name}]")
    runner.run("ingest_classify")
    runner.run("ingest_store", source_id=source_id)
    counts = runner.run("ingest_file_counts", source_id=source_id)[0]
    lines_read, events, accesses, dups, quar, dst, first_ts, last_ts = counts
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

