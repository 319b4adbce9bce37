"""Streaming evidence files into the store as numbered raw lines, without interpreting them.

The only Python work per file is splitting bytes on newlines (done in C by `bytes.split`) and
handing numbered batches to DuckDB as Arrow arrays (read in place, never stored); all decoding,
parsing and casting happens in SQL. A line that cannot be decoded stays a line: it reaches quarantine
with its number.
"""

from __future__ import annotations

import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from .errors import InputError
from .store import arrow_scan

CHUNK_BYTES = 32 * 1024 * 1024


@dataclass
class ReadResult:
    lines: int
    truncated: str | None  # why the file ended early (a truncated gzip stream), else None


def _chunks(path: Path) -> Iterator[bytes | BaseException]:
    """Decompressed blocks of a plain or gzip file; a truncated or corrupt stream yields its error last.

    gzip is decoded with zlib directly (not GzipFile) so that everything before the damage is kept.
    """
    with path.open("rb") as fh:
        first = fh.read(CHUNK_BYTES)
        if not first.startswith(b"\x1f\x8b"):
            block = first
            while block:
                yield block
                block = fh.read(CHUNK_BYTES)
            return
        d = zlib.decompressobj(wbits=31)
        data = first
        while True:
            while data:
                try:
                    out = d.decompress(data)
                except zlib.error as exc:
                    yield exc
                    return
                if out:
                    yield out
                if d.eof:  # a gzip file may hold several members one after the other
                    data = d.unused_data
                    if data and not data.startswith(b"\x1f\x8b"):
                        yield EOFError("trailing garbage after the gzip stream")
                        return
                    d = zlib.decompressobj(wbits=31) if data else d
                else:
                    data = b""
            data = fh.read(CHUNK_BYTES)
            if not data:
                break
        tail = d.flush()
        if tail:
            yield tail
        if not d.eof:
            yield EOFError("the gzip stream ends before its end marker")


class Progress:
    """Rows and rows/s on a terminal; silent otherwise."""

    def __init__(self, label: str, *, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.t0 = time.perf_counter()
        self.last = 0.0

    def update(self, rows: int, *, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not final and now - self.last < 0.25:
            return
        self.last = now
        rate = rows / max(now - self.t0, 1e-9)
        end = "\n" if final else ""
        sys.stderr.write(f"\r  {self.label}: {rows:,} lines  {rate:,.0f} lines/s   {end}")
        sys.stderr.flush()


LINES = "staging_lines"  # the name under which the Runner's queries read the current batch


def lines_table(first: int, lines: list[bytes]) -> pa.Table:
    """Raw records numbered first, first + 1, … as an Arrow table `(source_line, raw)`."""
    numbers = np.arange(first, first + len(lines), dtype=np.int64)
    return pa.table({"source_line": numbers, "raw": pa.array(lines, type=pa.binary())})


def with_lines(table: pa.Table, action: Callable[[], None]) -> None:
    """Run `action` while the Runner's queries can read `table` as `staging_lines` (never stored)."""
    with arrow_scan(LINES, table):
        action()


def stream_lines(path: Path, progress: Progress, *,
                 on_batch: Callable[[], None], batch_lines: int) -> ReadResult:
    """Hand every line of `path` (plain or gzip) to `on_batch`, `batch_lines` at a time, as `staging_lines`.

    `on_batch` is called at least once (with no lines for an empty file); numbering continues across
    batches, so a file of any size is read with bounded memory. Never raises on content."""
    line_no = 0
    tail = b""
    truncated: str | None = None
    pending: list[pa.Table] = []
    staged = 0

    def flush(force: bool = False) -> None:
        nonlocal pending, staged
        if staged >= batch_lines or force:
            table = pa.concat_tables(pending) if pending else lines_table(1, [])
            pending, staged = [], 0
            with_lines(table, on_batch)

    def add(lines: list[bytes]) -> None:
        nonlocal line_no, staged
        if lines:
            pending.append(lines_table(line_no + 1, lines))
            line_no += len(lines)
            staged += len(lines)
            progress.update(line_no)
            flush()

    try:
        for block in _chunks(path):
            if isinstance(block, BaseException):
                truncated = f"compressed stream ends early or is corrupt ({type(block).__name__}: {block})"
                break
            parts = (tail + block).split(b"\n")
            tail = parts.pop()
            add(parts)
    except OSError as exc:
        raise InputError(f"evidence file {path} cannot be read: {exc.strerror or exc}",
                         hint="check the file is still there and readable, then ingest again") from exc
    if tail:
        add([tail])
    if pending or line_no == 0:
        flush(force=True)
    progress.update(line_no, final=True)
    return ReadResult(lines=line_no, truncated=truncated)
