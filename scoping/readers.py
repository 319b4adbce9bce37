"""Streaming evidence files into the store as numbered raw lines, without interpreting them, in bounded memory.

The Python work per file is finding newlines (numpy over 1 MiB blocks) and handing numbered batches to DuckDB
as Arrow arrays (read in place, never stored); all decoding, parsing and casting happens in SQL. A line that
cannot be decoded stays a line: it reaches quarantine with its number. Hostile files cost what they weigh:

- gzip is inflated 1 MiB at a time (`decompressobj().decompress(data, max_length)`), never a member at once;
- a line longer than `max_line_bytes` is never held whole: it is staged as its first 2 KB and its length
  (`oversize`), and quarantined;
- a run of identical consecutive lines (a newline bomb, a repeated garbage line) is staged once, as its first
  line and the number of its last (`source_line_end`): the first line is mapped like any other and the rest
  follow it in one row, so 67 million empty lines are one quarantine row that counts 67 million lines.
  Equality is tested on the bytes (vectorised), never on a hash. Line 1 never joins a run (it may be a header).
"""

from __future__ import annotations

import bisect
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

BLOCK_BYTES = 1024 * 1024
PREFIX_BYTES = 2048  # what is kept of a line longer than max_line_bytes
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024
LINES = "staging_lines"  # the name under which the Runner's queries read the current batch
SCHEMA = pa.schema([("source_line", pa.int64()), ("source_line_end", pa.int64()), ("raw", pa.large_binary()),
                    ("oversize", pa.int64())])


@dataclass
class ReadResult:
    lines: int
    truncated: str | None  # why the file ended early (a truncated gzip stream), else None


def _chunks(path: Path) -> Iterator[bytes | BaseException]:
    """Blocks of at most BLOCK_BYTES of a plain or gzip file; a truncated or corrupt stream yields its error last.

    gzip is inflated with zlib directly (not GzipFile) so that everything before the damage is kept, and with a
    bound on every call's output so that a small file that inflates to gigabytes never sits in memory."""
    with path.open("rb") as fh:
        data = fh.read(max(BLOCK_BYTES, 2))
        if not data.startswith(b"\x1f\x8b"):
            while data:
                yield data
                data = fh.read(BLOCK_BYTES)
            return
        d = zlib.decompressobj(wbits=31)
        while data:
            while True:
                try:
                    out = d.decompress(data, BLOCK_BYTES)
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
                    if not data:
                        break
                    d = zlib.decompressobj(wbits=31)
                    continue
                data = d.unconsumed_tail
                if not data and len(out) < BLOCK_BYTES:
                    break  # all input used and no output pending: read more
            data = fh.read(BLOCK_BYTES)
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


def lines_table(first: int, lines: list[bytes]) -> pa.Table:
    """Raw records numbered first, first + 1, … as a staging table (one record per line, no runs)."""
    n = len(lines)
    return pa.table([pa.array(np.arange(first, first + n, dtype=np.int64)), pa.nulls(n, pa.int64()),
                     pa.array(lines, type=pa.large_binary()), pa.nulls(n, pa.int64())], schema=SCHEMA)


def with_lines(table: pa.Table, action: Callable[[], None]) -> None:
    """Run `action` while the Runner's queries can read `table` as `staging_lines` (never stored)."""
    with arrow_scan(LINES, table):
        action()


def _equal_to_previous(buf: np.ndarray, starts: np.ndarray, lens: np.ndarray, over: np.ndarray) -> np.ndarray:
    """For each line, whether its bytes equal the previous line's (False for the first), vectorised."""
    eq = np.zeros(len(starts), dtype=bool)
    if len(starts) < 2:
        return eq
    cand = np.flatnonzero((lens[1:] == lens[:-1]) & ~over[1:] & ~over[:-1]) + 1
    eq[cand[lens[cand] == 0]] = True
    cand = cand[lens[cand] > 0]
    step = 1 << 18  # compare at most this many bytes at once: bounded temporaries
    i = 0
    while i < len(cand):
        sizes = lens[cand[i:]]
        j = i + max(1, int(np.searchsorted(np.cumsum(sizes), step)))
        part, size = cand[i:j], lens[cand[i:j]]
        offsets = np.zeros(len(part) + 1, dtype=np.int64)
        np.cumsum(size, out=offsets[1:])
        within = np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], size)
        differs = buf[np.repeat(starts[part], size) + within] != buf[np.repeat(starts[part - 1], size) + within]
        eq[part] = ~np.logical_or.reduceat(differs, offsets[:-1])
        i = j
    return eq


class _Lines:
    """Cuts blocks into lines and runs of identical lines, staging one row per run."""

    def __init__(self, max_line_bytes: int, emit: Callable[[pa.Table], None]) -> None:
        self.max = max_line_bytes
        self.emit = emit
        self.line_no = 0  # lines completed so far
        self.partial: list[bytes] = []
        self.partial_len = 0
        self.partial_prefix: bytes | None = None  # set once the current line is longer than max
        self.run: tuple[bytes, int, int, int | None] | None = None  # (raw, first line, last line, oversize)
        self.singles: list[tuple[int, int, bytes, int | None]] = []

    # -- runs --------------------------------------------------------------------------------------
    def _close(self) -> None:
        if self.run is not None:
            raw, first, last, over = self.run
            self.singles.append((first, last, raw, over))
            self.run = None

    def _add(self, line: bytes, count: int = 1, oversize: int | None = None) -> None:
        """`count` identical lines (or one oversize line, by its prefix and length) follow."""
        first = self.line_no + 1
        self.line_no += count
        if self.run is not None and oversize is None and self.run[3] is None and self.run[1] != 1 \
                and self.run[0] == line:
            self.run = (self.run[0], self.run[1], self.line_no, None)
            return
        self._close()
        if first == 1 and count > 1:  # line 1 stays alone: it may be a header
            self.singles.append((1, 1, line, oversize))
            first = 2
        self.run = (line, first, self.line_no, oversize)

    def _flush_singles(self) -> None:
        if self.singles:
            first, last, raw, over = zip(*self.singles, strict=True)
            self.singles = []
            self.emit(pa.table([pa.array(first, pa.int64()),
                                pa.array([e if e != f else None for f, e in zip(first, last, strict=True)],
                                         pa.int64()),
                                pa.array(raw, pa.large_binary()), pa.array(over, pa.int64())], schema=SCHEMA))

    # -- blocks ------------------------------------------------------------------------------------
    def _extend_partial(self, data: bytes) -> None:
        self.partial_len += len(data)
        if self.partial_prefix is not None:
            if len(self.partial_prefix) < PREFIX_BYTES:
                self.partial_prefix += data[:PREFIX_BYTES - len(self.partial_prefix)]
            return
        self.partial.append(data)
        if self.partial_len > self.max:
            self.partial_prefix = b"".join(self.partial)[:PREFIX_BYTES]
            self.partial = []

    def _end_partial(self, data: bytes) -> None:
        """The current line ends with `data`."""
        self._extend_partial(data)
        if self.partial_prefix is not None:
            self._add(self.partial_prefix, oversize=self.partial_len)
        else:
            line = b"".join(self.partial)  # never longer than max_line_bytes: _extend_partial switched to a prefix
            self._add(line)
        self.partial, self.partial_len, self.partial_prefix = [], 0, None

    def feed(self, block: bytes) -> None:
        first_nl = block.find(b"\n")
        if first_nl < 0:
            self._extend_partial(block)
            return
        if self.partial_len or self.partial_prefix is not None:
            self._end_partial(block[:first_nl])
            block = block[first_nl + 1:]
            first_nl = block.find(b"\n")
            if first_nl < 0:
                self._extend_partial(block)
                self._flush_singles()
                return
        period = first_nl + 1
        if first_nl <= self.max and block[period:] == block[:len(block) - period]:
            count = len(block) // period  # the block is one line repeated (a newline bomb, repeated garbage)
            self._add(block[:first_nl], count)
            self._extend_partial(block[count * period:])
            self._flush_singles()
            return
        self._lines(block)
        self._flush_singles()

    def _lines(self, block: bytes) -> None:
        buf = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10)
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        lens = ends - starts
        over = lens > self.max
        tail = block[int(ends[-1]) + 1:]
        eq = _equal_to_previous(buf, starts, lens, over)
        first_line = block[:int(lens[0])]
        if not over[0] and self.run is not None and self.run[3] is None and self.run[1] != 1 \
                and self.run[0] == first_line and self.line_no + 1 != 2:
            eq[0] = True
        if self.line_no < 2:  # line 1 never joins a run: it may be a header
            eq[: max(0, 2 - self.line_no)] = False
        new = np.flatnonzero(~eq)
        base = self.line_no + 1  # the number of the block's first line
        n = len(starts)
        if len(new) == 0:
            assert self.run is not None
            self.line_no += n
            self.run = (self.run[0], self.run[1], self.line_no, self.run[3])
            self._extend_partial(tail)
            return
        if self.run is not None and new[0] > 0:
            self.run = (self.run[0], self.run[1], base + int(new[0]) - 1, self.run[3])
        self._close()
        self._flush_singles()
        closed = new[:-1]  # runs that end inside the block, staged in bulk
        if len(closed):
            parts = block.split(b"\n", len(closed) and int(closed[-1]) + 1)  # bytes.split: C speed, no numpy gather
            for long in np.flatnonzero(over[: int(closed[-1]) + 1]):
                parts[long] = parts[long][:PREFIX_BYTES]
            raws = pa.array(parts[: int(closed[-1]) + 1], pa.large_binary())
            if len(closed) != int(closed[-1]) + 1:  # some lines are the rest of a run: stage each run's first
                raws = raws.take(pa.array(closed))
            last = new[1:] - 1
            self.emit(pa.table([pa.array(base + closed), pa.array(np.where(last > closed, base + last, 0),
                                                                  mask=last == closed),
                                raws, pa.array(np.where(over[closed], lens[closed], 0), mask=~over[closed])],
                               schema=SCHEMA))
        k = int(new[-1])
        size = int(lens[k])
        raw = block[int(starts[k]):int(starts[k]) + (min(size, PREFIX_BYTES) if over[k] else size)]
        self.run = (raw, base + k, base + n - 1, size if over[k] else None)
        self.line_no = base + n - 1
        self._extend_partial(tail)

    def finish(self) -> None:
        if self.partial_len or self.partial_prefix is not None:
            self._end_partial(b"")
        self._close()
        self._flush_singles()


def stream_lines(path: Path, progress: Progress, *, on_batch: Callable[[], None], batch_lines: int,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, limit: int | None = None) -> ReadResult:
    """Hand every line of `path` (plain or gzip) to `on_batch`, about `batch_lines` staged rows at a time, as
    `staging_lines` (source_line, source_line_end, raw, oversize).

    `on_batch` is called at least once (with no rows for an empty file); numbering continues across batches, so a
    file of any size is read with bounded memory. With `limit`, only the first `limit` lines are staged (a
    dry run). Never raises on content."""
    pending: list[pa.Table] = []
    staged = 0

    def emit(table: pa.Table) -> None:
        nonlocal staged
        pending.append(table)
        staged += table.num_rows

    def flush(force: bool = False) -> None:
        nonlocal pending, staged
        if staged >= batch_lines or force:
            table = pa.concat_tables(pending) if pending else lines_table(1, [])
            pending, staged = [], 0
            if limit is not None:
                table = _clip(table, limit)
            with_lines(table, on_batch)

    cutter = _Lines(max_line_bytes, emit)
    truncated: str | None = None
    try:
        for block in _chunks(path):
            if isinstance(block, BaseException):
                truncated = f"compressed stream ends early or is corrupt ({type(block).__name__}: {block})"
                break
            cutter.feed(block)
            progress.update(cutter.line_no)
            flush()
            if limit is not None and cutter.line_no >= limit:
                break
    except OSError as exc:
        raise InputError(f"evidence file {path} cannot be read: {exc.strerror or exc}",
                         hint="check the file is still there and readable, then ingest again") from exc
    cutter.finish()
    lines = cutter.line_no if limit is None else min(cutter.line_no, limit)
    flush(force=True)
    progress.update(lines, final=True)
    return ReadResult(lines=lines, truncated=truncated if limit is None or lines < limit else None)


def _clip(table: pa.Table, limit: int) -> pa.Table:
    """The rows of the first `limit` lines, a run crossing the limit cut at it."""
    import pyarrow.compute as pc

    table = table.filter(pc.less_equal(table["source_line"], limit))
    ends = pc.if_else(pc.greater(table["source_line_end"], limit), limit, table["source_line_end"])
    return table.set_column(1, "source_line_end", pc.cast(ends, pa.int64()))



def fetch_lines(path: Path, wanted: set[int]) -> dict[int, bytes]:
    """The lines numbered `wanted` of a file (plain or gzip), numbered as `stream_lines` numbers them; streamed,
    so that only the wanted lines are held. Used to compare a few records on their text."""
    out: dict[int, bytes] = {}
    numbers = sorted(wanted)
    line_no = 0  # lines completed
    partial: list[bytes] = []  # the current line's pieces, kept only when it is wanted
    for block in _chunks(path):
        if isinstance(block, BaseException) or not numbers or line_no >= numbers[-1]:
            break
        current = line_no + 1
        n = block.count(b"\n")
        i = bisect.bisect_left(numbers, current)
        if i < len(numbers) and numbers[i] <= current + n:
            parts = block.split(b"\n")
            for k, part in enumerate(parts[:-1]):
                if current + k in wanted:
                    out[current + k] = b"".join(partial) + part if k == 0 else part
                if k == 0:
                    partial = []
            tail_number = current + n
            partial = ([*partial, parts[-1]] if n == 0 else [parts[-1]]) if tail_number in wanted else []
        else:
            partial = []
        line_no += n
    if partial and line_no + 1 in wanted:
        out[line_no + 1] = b"".join(partial)
    return out
