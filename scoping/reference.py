"""Reference tables: accounts (with departure dates), patients (with their controllers), care.

Each is read from CSV or Parquet as text, renamed through its small mapping and cast in SQL. A row
that cannot be used (no id, a date that does not parse) stops the ingest with the file and line,
because a wrong reference table silently changes who is notified.
"""

from __future__ import annotations

from pathlib import Path

from .config import REFERENCE_COLUMNS, REFERENCE_REQUIRED, CaseConfig, Reference
from .errors import InputError
from .evidence import display_path, sha256_file
from .queries import quote_ident
from .store import Runner

_DATE_COLUMNS = {"active_from", "active_until", "start", "end"}
# a time of day followed by an offset: "2025-11-10T18:00:00+01:00", "2025-11-10 18:00Z" (a bare date has none)
_OFFSET = r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_TARGET = {"start": "start_ts", "end": "end_ts"}


def _reader(path: Path, ref: Reference) -> tuple[str, dict[str, object]]:
    if path.suffix.lower() == ".parquet":
        return "read_parquet($ref_path)", {"ref_path": str(path)}
    reader = ("read_csv($ref_path, all_varchar = true, header = true, delim = $ref_delim, "
              "auto_detect = true, strict_mode = true, quote = '\"')")
    return reader, {"ref_path": str(path), "ref_delim": ref.delimiter}


def _columns(runner: Runner, reader: str, params: dict[str, object]) -> list[str]:
    rows = runner.execute("reference_describe", f"DESCRIBE SELECT * FROM {reader}", params)  # noqa: S608
    return [r[0] for r in rows]


def _load(runner: Runner, cfg: CaseConfig, ref: Reference) -> tuple[Path, str]:
    path = (cfg.root / ref.file) if not Path(ref.file).is_absolute() else Path(ref.file)
    shown = display_path(cfg.root, path)
    if not path.is_file():
        raise InputError(f"[reference.{ref.kind}] file {shown} not found", hint="fix `file` in case.toml")
    reader, params = _reader(path, ref)
    try:
        available = _columns(runner, reader, params)
    except Exception as exc:  # DuckDB's own message says what is wrong with the file
        raise InputError(f"[reference.{ref.kind}] {shown} cannot be read: {exc}") from exc
    mapping = dict(ref.columns)
    selects, checks = [], []
    params["ref_tz"] = ref.timezone
    params["ref_offset"] = _OFFSET
    for col in REFERENCE_COLUMNS[ref.kind]:
        src = mapping.get(col, col if col in available else None)
        target = _TARGET.get(col, col)
        if src is None:
            if col in REFERENCE_REQUIRED[ref.kind]:
                raise InputError(f"[reference.{ref.kind}] {shown} has no column for {col!r}",
                                 hint=f"add {col} = \"<column>\" under [reference.{ref.kind}.columns]; "
                                      f"the file has {', '.join(available)}")
            selects.append(f"NULL AS {quote_ident(target)}")
            continue
        if src not in available:
            raise InputError(f"[reference.{ref.kind}] {shown} has no column {src!r}",
                             hint=f"the file has {', '.join(available)}")
        text = f"nullif(trim(CAST({quote_ident(src)} AS VARCHAR)), '')"
        if col in _DATE_COLUMNS:
            expr = (f"CASE WHEN regexp_matches({text}, $ref_offset) THEN try_cast({text} AS TIMESTAMPTZ) "
                    f"WHEN $ref_tz IS NOT NULL THEN timezone($ref_tz, try_cast({text} AS TIMESTAMP)) END")
            label = f"column {col}" + (f" ({src})" if src != col else "")
            checks.append(f"WHEN {text} IS NOT NULL AND try_cast({text} AS TIMESTAMP) IS NOT NULL AND $ref_tz IS NULL "
                          f"AND NOT regexp_matches({text}, $ref_offset) THEN "
                          f"'{label}: ' || {text} || ' has no UTC offset and [reference.{ref.kind}] names no "
                          f"timezone'")
            checks.append(f"WHEN {text} IS NOT NULL AND ({expr}) IS NULL THEN "
                          f"'{col}: not a date or time: ' || {text}")
        else:
            expr = text
        if col in REFERENCE_REQUIRED[ref.kind]:
            checks.append(f"WHEN {text} IS NULL THEN '{col} is empty'")
        selects.append(f"{expr} AS {quote_ident(target)}")
    problem = f"CASE {' '.join(checks)} END" if checks else "NULL"
    sql = (f"CREATE OR REPLACE TEMP TABLE staging_reference AS SELECT row_number() OVER () + 1 AS line, "  # noqa: S608
           f"{problem} AS problem, {', '.join(selects)} FROM {reader}")
    try:
        runner.execute(f"reference:{ref.kind}", sql, params)
    except InputError as exc:
        raise InputError(f"[reference.{ref.kind}] {shown}: {exc.message}",
                         hint="check the delimiter and that every row has as many fields as the header") from exc
    bad = runner.execute("reference_problems", "SELECT line, problem FROM staging_reference "
                         "WHERE problem IS NOT NULL ORDER BY line LIMIT 5")
    if bad:
        listing = "; ".join(f"line {line}: {why}" for line, why in bad)
        zone = any("no UTC offset" in str(why) for _, why in bad)
        raise InputError(f"[reference.{ref.kind}] {shown}: {listing}",
                         hint=f"add timezone = \"Europe/Paris\" (the zone the dates are written in) to "
                              f"[reference.{ref.kind}], or write the dates with their offset: scoping never guesses "
                              f"a zone" if zone else "fix these rows and ingest again")
    target_cols = ", ".join(quote_ident(_TARGET.get(c, c)) for c in REFERENCE_COLUMNS[ref.kind])
    runner.execute(f"reference_replace:{ref.kind}",
                   f"DELETE FROM {ref.kind}; INSERT INTO {ref.kind} SELECT DISTINCT {target_cols} "  # noqa: S608
                   f"FROM staging_reference ORDER BY ALL")
    return path, shown


def load_all(runner: Runner, cfg: CaseConfig, *, known: set[str], run_id: int) -> list[str]:
    """Replace every reference table named in case.toml; register new files as evidence."""
    loaded = []
    for ref in cfg.references:
        path, shown = _load(runner, cfg, ref)
        sha, size = sha256_file(path)
        n = runner.execute("reference_count", f"SELECT count(*) FROM {ref.kind}")[0][0]  # noqa: S608
        runner.execute("reference_supersede",
                       "UPDATE evidence SET status = 'superseded by ' || left($sha, 16) WHERE kind = 'reference' "
                       "AND source = $source AND sha256 <> $sha AND status = 'reference table'",
                       {"sha": sha, "source": f"reference.{ref.kind}"})
        runner.execute("reference_current",
                       "UPDATE evidence SET status = 'reference table', path = $path WHERE kind = 'reference' "
                       "AND source = $source AND sha256 = $sha AND (status <> 'reference table' OR path <> $path)",
                       {"sha": sha, "source": f"reference.{ref.kind}", "path": shown})
        if sha not in known:
            known.add(sha)
            runner.run("ingest_evidence_row", source_id=sha[:16], source=f"reference.{ref.kind}",
                       kind="reference", path=shown, sha256=sha, bytes=size,
                       format=path.suffix.lstrip(".") or "csv", mapping_sha256=None, header_lines=1,
                       lines_read=n, events_loaded=0, accesses_loaded=0, duplicates=0, conflicts=0, quarantined=0,
                       dst_flagged=0, first_ts=None, last_ts=None, status="reference table",
                       ingest_run=run_id, source_sha256=None, read_settings=None)
        loaded.append(f"{ref.kind}: {n:,} rows from {shown}")
    return loaded
