"""The analyst's drill-down: every logged event behind a patient, an account, an address or a session, with the
evidence file and line it comes from — and, on request, the very line as the file holds it.

The events come from `drill_events.sql`; the raw lines are read back from the evidence files by line number
(gzip included), each checked against the SHA-256 recorded at ingest first, so what is shown is the evidence
itself. A line is shown up to `MAX_LINE_BYTES` (the rest is counted, never held in memory). Files that are not
read as lines (FHIR documents, whose records are Bundle entries; Parquet rows) give their position only.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import polars as pl

from .errors import ConfigError, IntegrityError
from .evidence import sha256_file
from .store import Runner

MAX_LINE_BYTES = 4096
LINE_FORMATS = ("csv", "tsv", "jsonl", "openemr")


def events(runner: Runner, *, patient: str | None = None, account: str | None = None, address: str | None = None,
           session: str | None = None, since: datetime | None = None, until: datetime | None = None,
           limit: int = 1000) -> pl.DataFrame:
    """The events behind a patient, account, address or session (at least one), oldest first."""
    if not any((patient, account, address, session)):
        raise ConfigError("say whose events to show", hint="give a patient, an account, an address or a session")
    return runner.frame("drill_events", patient=patient, account=account, address=address, session=session,
                        since=since.isoformat() if since else None, until=until.isoformat() if until else None,
                        max_rows=limit)


def _lines(fh: BinaryIO, wanted: set[int]) -> Iterator[tuple[int, bytes]]:
    """(line number, first bytes of the line) for the wanted line numbers, reading in bounded pieces."""
    last = max(wanted)
    number = 0
    while number < last:
        number += 1
        head = fh.readline(MAX_LINE_BYTES)
        if not head:
            return
        if not head.endswith(b"\n"):  # a long line: skip its rest without keeping it
            extra = 0
            while True:
                piece = fh.readline(1 << 20)
                extra += len(piece)
                if not piece or piece.endswith(b"\n"):
                    break
            if number in wanted:
                yield number, head + f" … [{extra:,} more bytes]".encode()
            continue
        if number in wanted:
            yield number, head.rstrip(b"\r\n")


def _open(path: Path) -> BinaryIO:
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")  # type: ignore[return-value]


def with_raw_lines(runner: Runner, root: Path, df: pl.DataFrame) -> pl.DataFrame:
    """The drill-down rows with the line each comes from, read back from the (re-hashed) evidence files."""
    texts: dict[tuple[str, int], str] = {}
    for path_text, fmt in df.select("source_path", "format").unique().iter_rows():
        wanted = set(df.filter(pl.col("source_path") == path_text)["source_line"].to_list())
        if fmt not in LINE_FORMATS:  # a FHIR Bundle's entries or a Parquet file's rows are not lines
            continue
        path = Path(path_text) if Path(path_text).is_absolute() else root / path_text
        recorded = runner.execute("drill_sha", "SELECT sha256 FROM evidence WHERE path = $p LIMIT 1", {"p": path_text})
        if not path.is_file() or not recorded or sha256_file(path)[0] != recorded[0][0]:
            raise IntegrityError(f"evidence file {path_text} is missing or changed since it was ingested",
                                 hint="restore it from the acquisition copy before reading lines back from it")
        with _open(path) as fh:
            for number, raw in _lines(fh, wanted):
                texts[(path_text, number)] = raw.decode("utf-8", errors="backslashreplace")
    raw_text = [texts.get((p, n)) for p, n in df.select("source_path", "source_line").iter_rows()]
    return df.with_columns(pl.Series("raw_line", raw_text, dtype=pl.String))
