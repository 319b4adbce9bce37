"""Reading one evidence file into `ingest_pending`: a batch at a time, mapped by its compiled statement.

Every staged row (a line, or a run of identical lines) is set aside with its problem or its canonical columns;
the address is normalised (`ip_normal`) and kept as logged (`src_ip_raw`); a line longer than `max_line_bytes`
is quarantined by its first bytes and its length. A file whose share of quarantined lines exceeds its limit
stops the ingest here, with the reasons and sample lines (a wrong `ts_format` must not pass as "loaded").
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import formats, mapping, queries
from .config import CaseConfig, Source
from .errors import ConfigError, InputError
from .evidence import display_path, stat_signature
from .mapping_fields import REPEATED_FLAG, json_path
from .readers import LINES, Progress, stream_lines
from .store import Runner

BATCH_LINES = 250_000
FIELDS_SAMPLE = 1_000  # the first lines of a batch asked which mapped fields they hold, before the rest
_REPAIR_INPUT = "(SELECT * FROM staging_lines WHERE list_contains($ingest_repair_lines, source_line))"


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
    conflicts: int = 0
    quarantined: int = 0
    dst_flagged: int = 0


@dataclass
class PendingFile:
    """An evidence file read in this ingest, registered once the duplicates and conflicts are known."""

    report: FileReport
    sha256: str
    size: int
    format: str
    mapping_sha256: str
    source_sha256: str
    header_lines: int
    path: Path = field(default_factory=Path)
    present: frozenset[str] = frozenset()  # JSON lines: the mapped column fields some record holds
    keys: frozenset[str] = frozenset()  # JSON lines: the top-level keys of the first records


def _read_header(runner: Runner, src: Source, path: str) -> list[str]:
    if not src.header:
        return list(src.column_names)
    rows = runner.execute("ingest_header", "SELECT try(decode(raw)) FROM staging_lines WHERE source_line = 1")
    if not rows or rows[0][0] is None:
        raise InputError(f"{path}: the first line (the header) is missing or not UTF-8",
                         hint="set header = false and column_names = [...] if the file has no header")
    text = rows[0][0].rstrip("\r").lstrip("\ufeff")
    if "\r" in text:
        raise InputError(f"{path}: the first line holds a carriage return: the file's lines end with CR alone",
                         hint="scoping splits lines on LF; convert a working copy of the file to LF line ends and "
                              "keep the original as evidence")
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=src.delimiter, quotechar=src.quote or '"'))
    except (csv.Error, StopIteration) as exc:
        raise InputError(f"{path}: the first line (the header) cannot be read as CSV ({exc})",
                         hint="check delimiter and quote, or set header = false and column_names = [...]") from exc
    return [h.strip() for h in header]


def insert_sql(mapping_sql: str, *, joined: bool) -> str:
    """Set aside the rows of one mapped batch: the mapping's columns, with the address normalised and as logged.

    A compiled mapping carries each staged row's run (source_line_end) and quarantines a line longer than the
    limit itself; a format's own SQL (FHIR) does not, so it is `joined` to the staged rows for them."""
    if not joined:
        return (f"INSERT INTO ingest_pending BY NAME\n"
                f"SELECT m.* EXCLUDE (src_ip), ip_normal(m.src_ip) AS src_ip, m.src_ip AS src_ip_raw,\n"
                f"  $ingest_source_id AS source_id, $ingest_file_seq AS file_seq\n"
                f"FROM (\n{mapping_sql}\n) m\nORDER BY ts, source_line")
    return (f"INSERT INTO ingest_pending BY NAME\n"
            f"SELECT m.* EXCLUDE (problem, raw, txt, src_ip),\n"
            f"  CASE WHEN s.oversize IS NOT NULL THEN 'line longer than ' || $ingest_max_line || ' bytes: ' "
            f"|| s.oversize || ' bytes' ELSE m.problem END AS problem,\n"
            f"  CASE WHEN s.oversize IS NOT NULL THEN s.raw ELSE m.raw END AS raw,\n"
            f"  CASE WHEN s.oversize IS NOT NULL THEN try(decode(s.raw)) ELSE m.txt END AS txt,\n"
            f"  s.source_line_end, ip_normal(m.src_ip) AS src_ip, m.src_ip AS src_ip_raw,\n"
            f"  $ingest_source_id AS source_id, $ingest_file_seq AS file_seq\n"
            f"FROM (\n{mapping_sql}\n) m JOIN {LINES} s USING (source_line)\nORDER BY ts, source_line")


class Batches:
    """Maps one file's lines a batch at a time into ingest_pending, counting its lines and quarantined lines."""

    def __init__(self, runner: Runner, cfg: CaseConfig, src: Source, source_id: str, shown: str, file: Path,
                 file_seq: int, *, diagnostics: bool = False) -> None:
        self.runner, self.cfg, self.src = runner, cfg, src
        self.mapped_src = formats.openemr_source(src) if src.format == "openemr" else src
        self.source_id, self.shown, self.file, self.file_seq = source_id, shown, file, file_seq
        self.diagnostics = diagnostics
        self.header: list[str] | None = None
        self.compiled: mapping.Compiled | None = None  # compiled once per file, run for every batch
        self.repair: mapping.Compiled | None = None  # JSON records with a repeated key, mapped again
        self.sql_text: str = ""
        self.params: dict[str, Any] = {}
        self.lines = 0
        self.quarantined = 0
        self.limit: int | None = None  # a dry run maps the first lines only
        self.present: set[str] = set()  # JSON lines: the mapped column fields some record holds
        self.keys: set[str] = set()  # JSON lines: the top-level keys of the first records (a "did you mean")
        self._keys_read = False

    def process(self, *, input_sql: str = LINES) -> None:
        """Map the batch visible as `input_sql` and append its rows to ingest_pending."""
        r, src = self.runner, self.src
        if src.format == "fhir":
            self.sql_text, self.params = queries.get("format_fhir_auditevent").text, {"tz": src.timezone}
        else:
            if self.mapped_src.format in ("csv", "tsv") and self.header is None:
                self.header = _read_header(r, self.mapped_src, self.shown)
            if src.format == "parquet" and self.header is None:
                try:
                    self.header = [row[0] for row in r.execute(
                        "parquet_columns", "DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(self.file)})]
                except InputError as exc:
                    raise InputError(f"{self.shown}: not a readable Parquet file ({exc.message})") from exc
            if self.compiled is None:
                self.compiled = mapping.compile_source(self.mapped_src, header=self.header, input_sql=input_sql,
                                                       diagnostics=self.diagnostics,
                                                       max_line_bytes=self.cfg.max_line_bytes)
            self.sql_text, self.params = self.compiled.sql, dict(self.compiled.params)
            if src.format == "parquet":
                self.params["parquet_path"] = str(self.file)
                self.params["ingest_limit"] = self.limit
        staged = input_sql == LINES
        first, last = (0, 2**62) if not staged else r.execute("ingest_batch_range", """
            SELECT coalesce(min(source_line), 0), coalesce(max(source_line), -1) FROM staging_lines""")[0]
        if first > last:
            return  # an empty batch (an empty file): nothing to map
        params = {**self.params, "ingest_source_id": self.source_id, "ingest_file_seq": self.file_seq}
        joined = src.format == "fhir"
        if joined:
            params["ingest_max_line"] = self.cfg.max_line_bytes
        try:
            r.execute(f"mapping:{src.name}", insert_sql(self.sql_text, joined=joined), params)
        except InputError as exc:
            if src.format != "parquet":
                raise
            raise InputError(f"{self.shown}: not a readable Parquet file ({exc.message})") from exc
        if src.format == "jsonl":
            self._repair_repeated_keys(first, last, params)
            if staged:
                self._note_fields()
        lines, quarantined, naive_line = r.run("ingest_batch_counts", file_seq=self.file_seq, first_line=first,
                                               last_line=last)[0]
        if naive_line is not None:
            raise ConfigError(
                f"[sources.{src.name}] {self.shown}, line {naive_line}: the timestamp has no UTC offset and the "
                f"source names no time zone",
                hint=f"add timezone = \"Europe/Paris\" (the zone the logging server used) to [sources.{src.name}]")
        self.lines += int(lines)
        self.quarantined += int(quarantined)

    def _note_fields(self) -> None:
        """Which mapped column fields the batch's records hold (asked only until each is found; a line is parsed
        only when its text holds the field's last name), and the keys of the file's first records. The batch's
        first lines are asked first: a field they hold is not looked for in the rest (each look parses a line)."""
        for limit in (FIELDS_SAMPLE, None):
            wanted = [f for f in column_fields(self.src) if f not in self.present]
            if not wanted and self._keys_read:
                return
            self._look_for_fields(wanted, limit)

    def _look_for_fields(self, wanted: list[str], limit: int | None) -> None:
        checks = []
        params: dict[str, Any] = {}
        for i, f in enumerate(wanted):
            last = f.rsplit(".", 1)[-1]
            params[f"p{i}"] = json_path(f)
            if f.startswith("$") or not re.fullmatch(r"[A-Za-z0-9_ -]+", last):
                checks.append(f"coalesce(bool_or(CASE WHEN json_valid(x) THEN json_exists(x, $p{i}) END), false)")
            else:
                params[f"k{i}"] = f'"{last}"'
                checks.append(f"coalesce(bool_or(CASE WHEN contains(x, $k{i}) AND json_valid(x) "
                              f"THEN json_exists(x, $p{i}) END), false)")
        keys = "NULL::VARCHAR[]" if self._keys_read else \
            "list_distinct(flatten(list(CASE WHEN n <= 1000 AND json_valid(x) THEN CASE WHEN json_type(x) = 'OBJECT' " \
            "THEN json_keys(x) END END)))"
        # every value is bound; the text is made of this module's own fragments
        sql = (f"SELECT [{', '.join(checks)}]::BOOLEAN[], {keys}\n"  # noqa: S608
               f"FROM (SELECT row_number() OVER () AS n,\n"
               f"             CASE WHEN source_line = 1 THEN ltrim(t, chr(65279)) ELSE t END AS x\n"
               f"      FROM (SELECT source_line, try(decode(raw)) AS t FROM {LINES}"
               f"{f' ORDER BY source_line LIMIT {int(limit)}' if limit else ''}))")
        found, first_keys = self.runner.execute("ingest_fields_present", sql, params)[0]
        self.present.update(f for f, hit in zip(wanted, found or [], strict=False) if hit)
        if not self._keys_read:
            self.keys.update(first_keys or [])
            self._keys_read = bool(first_keys)

    def _repair_repeated_keys(self, first: int, last: int, params: dict[str, Any]) -> None:
        """Records with a repeated key were mapped with each key's first value: map them again with its last."""
        r = self.runner
        lines = r.execute("ingest_repeated_keys", """
            SELECT list(source_line) FROM ingest_pending WHERE file_seq = $f AND source_line BETWEEN $a AND $b
              AND starts_with(record_flags, $flag)""",
                          {"f": self.file_seq, "a": first, "b": last, "flag": REPEATED_FLAG})[0][0]
        if not lines:
            return
        if self.repair is None:
            self.repair = mapping.compile_source(
                self.mapped_src, header=None, diagnostics=self.diagnostics, repair=True,
                input_sql=_REPAIR_INPUT, max_line_bytes=self.cfg.max_line_bytes)
        r.execute("ingest_repeated_keys_forget", "DELETE FROM ingest_pending WHERE file_seq = $f "
                  "AND list_contains($lines, source_line)", {"f": self.file_seq, "lines": lines})
        r.execute(f"mapping:{self.src.name}:repeated keys", insert_sql(self.repair.sql, joined=False),
                  {**params, **self.repair.params, "ingest_repair_lines": lines})

    def note_truncation(self, last_line: int, reason: str) -> None:
        """The unreadable rest of a damaged compressed file: one quarantine line after the last line read."""
        self.runner.run("ingest_note_truncation", source_id=self.source_id, file_seq=self.file_seq,
                        source_line=last_line + 1, reason=reason)
        self.lines += 1
        self.quarantined += 1


def read_into_pending(batch: Batches, *, progress: bool | None, limit: int | None = None) -> tuple[int, bool]:
    """Stream the file of `batch` through its mapping; (header lines, whether the file ended early)."""
    src, file = batch.src, batch.file
    if src.format == "parquet":
        batch.limit = limit
        batch.process(input_sql="(SELECT * FROM read_parquet($parquet_path, file_row_number = true) "
                                "WHERE $ingest_limit IS NULL OR file_row_number < $ingest_limit)")
        return 0, False
    bar = Progress(batch.shown, enabled=progress)
    read = formats.read_fhir if src.format == "fhir" else stream_lines
    result = read(file, bar, on_batch=batch.process, batch_lines=BATCH_LINES,
                  max_line_bytes=batch.cfg.max_line_bytes, limit=limit)
    if result.truncated:
        batch.note_truncation(result.lines, result.truncated)
    is_csv = batch.mapped_src.format in ("csv", "tsv")
    return (1 if is_csv and batch.mapped_src.header and result.lines else 0), bool(result.truncated)


def _check_share(runner: Runner, cfg: CaseConfig, batch: Batches) -> None:
    """A file mostly quarantined is a mistake (a wrong ts_format, a wrong delimiter), not evidence: stop."""
    limit = cfg.quarantine_limit(batch.src)
    if not batch.lines or batch.quarantined / batch.lines <= limit:
        return
    rows = runner.run("ingest_quarantine_sample", file_seq=batch.file_seq)
    reasons = "; ".join(f"{reason} ({lines:,} line{'s' if lines != 1 else ''}, e.g. line {line}: {example})"
                        for kind, reason, lines, line, example in rows if kind == "reason")
    samples = "\n".join(f"    line {line}: {example!r}" for kind, _, _, line, example in rows if kind == "sample")
    share = batch.quarantined / batch.lines
    raise InputError(
        f"{batch.shown}: {batch.quarantined:,} of {batch.lines:,} lines quarantined ({share:.0%}, more than "
        f"{limit:.0%}); nothing was ingested.\n  top reasons: {reasons}\n  first quarantined lines:\n{samples}",
        hint=f"fix the mapping of [sources.{batch.src.name}] (try `scoping ingest CASE --dry-run`), or if these "
             f"lines are expected, accept them with max_quarantined_share = {min(1.0, round(share + 0.05, 2))} "
             f"under [sources.{batch.src.name}]")


def read_file(runner: Runner, cfg: CaseConfig, src: Source, file: Path, *, sha: str, size: int, status: str,
              source_sha256: str, progress: bool | None, file_seq: int,
              signature: tuple[int, int]) -> PendingFile:
    """Read one evidence file into ingest_pending (its SHA-256 computed by the plan, after `signature`, its size
    and modification time: any change since is refused)."""
    shown = display_path(cfg.root, file)
    before = signature
    batch = Batches(runner, cfg, src, sha[:16], shown, file, file_seq)
    header_lines, truncated = read_into_pending(batch, progress=progress)
    if src.format == "openemr" and src.api_log:
        _join_openemr_api_log(runner, cfg, src, file_seq)
    if stat_signature(file) != before:
        raise InputError(f"{shown} changed while it was being read (size or modification time differ)",
                         hint="ingest from a copy that nothing writes to (an acquisition copy)")
    _check_share(runner, cfg, batch)
    sql_text, bound = batch.sql_text, dict(batch.params)
    if batch.repair is not None:  # what ran on records with a repeated key, kept with the rest
        sql_text += "\n;\n-- records with a repeated JSON key were mapped again by:\n" + batch.repair.sql
        bound.update({f"repair:{k}": v for k, v in batch.repair.params.items()})
    params = json.dumps(bound, sort_keys=True, default=str)
    mapping_sha = hashlib.sha256((sql_text + params).encode()).hexdigest()
    runner.run("ingest_mapping_row", mapping_sha256=mapping_sha, source=src.name, sql=sql_text, params=params)
    if truncated:
        status += "; file truncated"
    report = FileReport(src.name, shown, sha[:16], status, lines_read=batch.lines, quarantined=batch.quarantined)
    return PendingFile(report, sha, size, src.format, mapping_sha, source_sha256, header_lines, file,
                       frozenset(batch.present), frozenset(batch.keys))


def _join_openemr_api_log(runner: Runner, cfg: CaseConfig, src: Source, file_seq: int) -> None:
    path = cfg.root / src.api_log if src.api_log and not Path(src.api_log).is_absolute() else Path(src.api_log or "")
    if not path.is_file():
        raise InputError(f"[sources.{src.name}] api_log file {src.api_log} not found",
                         hint="fix api_log in case.toml, or remove it if the export has no api_log")
    runner.run("format_openemr_api_join", api_log_path=str(path), key_prefix=f"{src.name}:", file_seq=file_seq)


def column_fields(src: Source) -> list[str]:
    """The fields `[sources.NAME.columns]` reads (the list of `patient_id = "results[].id"`)."""
    return list(dict.fromkeys(f for col, _ in src.columns if (f := src.column(col))))


def check_columns_present(src: Source, present: set[str], keys: set[str], files: int, *,
                          sample: int | None = None) -> list[str]:
    """A JSON-lines source whose columns name a field that no record of its files holds: a typo silently empties
    a column and changes the verdicts. When a field the records hold is close to that name (a typo: `result`
    for `results`, `ipp` for `ip`), stop, naming the column and that field, as a CSV column the header lacks
    does; otherwise (a field these files happen never to hold, e.g. a result list in logs without a search) the
    warnings returned say so. A field some records hold is fine; files without a single record are not judged."""
    if src.format != "jsonl" or not (present or keys):
        return []
    missing = [(col, f) for col, _ in src.columns if (f := src.column(col)) and f not in present]
    where = f"the first {sample:,} lines of each of its {files:,} file(s)" if sample else \
        f"its {files:,} file(s)"
    typos, absent = [], []
    for col, f in missing:
        close = difflib.get_close_matches(f, sorted(keys), n=1, cutoff=0.6)
        if close:
            typos.append(f'{col} = "{f}" (did you mean "{close[0]}"?)')
        else:
            absent.append(f'{col} = "{f}"')
    shown = ", ".join(sorted(keys)[:40]) + (", ..." if len(keys) > 40 else "")
    if typos:
        raise ConfigError(
            f"[sources.{src.name}.columns] names {'a field' if len(typos) == 1 else 'fields'} that no record of "
            f"{where} holds: {'; '.join(typos)}",
            hint=f"the records' fields are: {shown}; fix the name"
                 + ("; if it appears only further on in the files, raise --sample" if sample else ""))
    return [f"[sources.{src.name}.columns] {c}: no record of {where} holds this field (their fields: {shown}); "
            f"check the name: the column stays empty" for c in absent]
