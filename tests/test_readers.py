"""The line reader: every line staged once, runs of identical lines as ranges, long lines by their prefix, gzip
inflated in bounded blocks — checked against the plain `bytes.split` reading of the same file."""

from __future__ import annotations

import gzip
import itertools
import zlib
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scoping.readers as readers
import scoping.store as store


def _stage(path: Path, *, max_line_bytes: int, batch_lines: int = 7, limit: int | None = None):
    tables: list[pa.Table] = []

    def on_batch() -> None:
        tables.append(store.__dict__[readers.LINES])

    result = readers.stream_lines(path, readers.Progress("t", enabled=False), on_batch=on_batch,
                                  batch_lines=batch_lines, max_line_bytes=max_line_bytes, limit=limit)
    rows = [r for t in tables for r in t.to_pylist()]
    return result, sorted(rows, key=lambda r: r["source_line"])


def _expand(rows: list[dict]) -> list[tuple[int, bytes, int | None]]:
    out = []
    for r in rows:
        end = r["source_line_end"] if r["source_line_end"] is not None else r["source_line"]
        assert end >= r["source_line"]
        out.extend((n, r["raw"], r["oversize"]) for n in range(r["source_line"], end + 1))
    return out


LINE = st.sampled_from([b"", b"a", b"ab", b"x" * 40, b"\r", b"{}", b"\xff\xfe", b"a,b,c"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(LINE, st.integers(1, 30)), max_size=40), block=st.integers(1, 64),
       gz=st.booleans(), trailing=st.booleans(), max_line=st.sampled_from([3, 16, 1000]))
def test_every_line_is_staged_once_as_written(tmp_path_factory, monkeypatch, lines, block, gz, trailing, max_line):
    monkeypatch.setattr(readers, "BLOCK_BYTES", block)
    physical = [text for text, times in lines for _ in range(times)]
    body = b"\n".join(physical) + (b"\n" if trailing and physical else b"")
    path = tmp_path_factory.mktemp("r") / "f"
    path.write_bytes(gzip.compress(body) if gz else body)
    result, rows = _stage(path, max_line_bytes=max_line)
    expected = body.split(b"\n")
    if expected and expected[-1] == b"":
        expected.pop()
    got = _expand(rows)
    assert result.lines == len(expected) == len(got)
    for (number, raw, over), text in zip(got, expected, strict=True):
        if len(text) > max_line:
            assert over == len(text) and raw == text[:readers.PREFIX_BYTES], number
        else:
            assert over is None and raw == text, number
    assert all(r["source_line_end"] is None for r in rows if r["source_line"] == 1)  # line 1 stands alone
    runs = [r for r in rows if r["source_line_end"] is not None]
    assert all(r["oversize"] is None for r in runs)
    # identical neighbours (after line 1) are always in one run: nothing is staged twice in a row
    plain = [r for r in rows if r["source_line"] > 1 and r["oversize"] is None]
    for a, b in itertools.pairwise(plain):
        assert not (a["raw"] == b["raw"] and (a["source_line_end"] or a["source_line"]) + 1 == b["source_line"])


def test_a_newline_bomb_is_two_rows(tmp_path):
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    path = tmp_path / "bomb.gz"
    path.write_bytes(c.compress(b"\n" * 5_000_000) + c.flush())
    result, rows = _stage(path, max_line_bytes=100, batch_lines=250_000)
    assert result.lines == 5_000_000
    assert [(r["source_line"], r["source_line_end"], r["raw"]) for r in rows] == [(1, None, b""),
                                                                                  (2, 5_000_000, b"")]


def test_a_long_line_is_never_held_whole(tmp_path, monkeypatch):
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    path = tmp_path / "long.gz"
    path.write_bytes(c.compress(b"y" * 20_000_000) + c.compress(b"\nok\n") + c.flush())
    held: list[int] = []
    real = readers._Lines._extend_partial

    def watch(self, data):  # the pieces of a line kept in memory never exceed the limit by more than a block
        real(self, data)
        held.append(sum(map(len, self.partial)))

    monkeypatch.setattr(readers._Lines, "_extend_partial", watch)
    result, rows = _stage(path, max_line_bytes=1_000_000)
    assert result.lines == 2
    assert rows[0]["oversize"] == 20_000_000 and rows[0]["raw"] == b"y" * readers.PREFIX_BYTES
    assert rows[1]["raw"] == b"ok"
    assert max(held) <= 1_000_000 + readers.BLOCK_BYTES


def test_a_dry_run_limit_cuts_a_run(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"h\n" + b"same\n" * 50)
    result, rows = _stage(path, max_line_bytes=100, limit=10)
    assert result.lines == 10
    assert [(r["source_line"], r["source_line_end"]) for r in rows] == [(1, None), (2, 10)]


def test_fetch_lines_numbers_lines_as_the_reader_does(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "BLOCK_BYTES", 5)
    lines = [b"l%d" % i * (i % 4) for i in range(1, 60)]
    path = tmp_path / "f.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    wanted = {1, 2, 7, 30, 59}
    assert readers.fetch_lines(path, wanted) == {n: lines[n - 1] for n in wanted}


@pytest.mark.parametrize("damage", [b"", b"garbage"])
def test_a_damaged_gzip_keeps_what_precedes_the_damage(tmp_path, damage):
    data = gzip.compress(b"".join(b"line %d of the log\n" % i for i in range(3000)))
    path = tmp_path / "f.gz"
    path.write_bytes(data[:-20] + damage)
    result, _ = _stage(path, max_line_bytes=100)
    assert result.truncated and result.lines >= 2900 if not damage else result.truncated
