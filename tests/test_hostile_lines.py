"""Hypothesis: corrupted lines of every kind never crash ingest, and every line is accounted for."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingest import CSV_SOURCE, JSON_SOURCE, make_case

GOOD_CSV = b"1,2025-11-10 19:00:00,drA,V,P1,OK"
GOOD_JSON = json.dumps({"when": "2025-11-10T18:00:00Z", "who": {"login": "drA"},
                        "req": {"method": "GET", "path": "/p/P1/notes"}}).encode()


def corrupt(good: bytes):
    return st.one_of(
        st.just(good),
        st.integers(0, len(good)).map(lambda n: good[:n]),                        # truncation
        st.binary(min_size=1, max_size=40),                                        # raw garbage / bad UTF-8
        st.just(b""),                                                              # empty line
        st.just(good + b"," + good),                                               # wrong column count
        st.just(b"\xff" + good),                                                   # invalid UTF-8
        st.just(good.replace(b"2025-11-10", b"2025-13-45")),                      # bad timestamp
        st.integers(1000, 300_000).map(lambda n: b"x" * n),                        # a huge line
        st.just(good.replace(b"drA", b"'; DROP TABLE events; --")),                # SQL in a field
    )


def _check(tmp: Path, source: str, name: str, lines: list[bytes], header: bytes, gz: bool) -> None:
    body = header + b"\n".join(lines) + b"\n"
    data = gzip.compress(body) if gz else body
    source = source.replace("\n[sources.", "\n[sources.", 1).replace('"]\n', '"]\nmax_quarantined_share = 1\n', 1)
    with make_case(tmp, source, {name: data}) as case:
        case.ingest(progress=False)
        row = case.sql("SELECT lines_read, events_loaded, duplicates, conflicts, quarantined FROM evidence "
                       "WHERE kind = 'log'").row(0)
        stored = case.sql(
            "SELECT (SELECT count(DISTINCT event_key) FROM events) AS e, "
            "(SELECT coalesce(sum(coalesce(source_line_end, source_line) - source_line + 1), 0) FROM quarantine) AS q, "
            "(SELECT coalesce(sum(coalesce(source_line_end, source_line) - source_line + 1), 0) FROM duplicates) AS d, "
            "(SELECT count(*) FROM conflicts) AS c").row(0)
    lines_read, loaded, dups, conflicts, quarantined = row
    # a body line with a newline inside is two lines; count what was physically written
    physical = body[len(header):].count(b"\n")
    assert lines_read == physical
    assert loaded + dups + conflicts + quarantined == lines_read
    assert stored == (loaded + conflicts, quarantined, dups, conflicts)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(corrupt(GOOD_CSV), min_size=1, max_size=12))
def test_csv_lines_are_all_accounted_for(tmp_path_factory, lines):
    _check(tmp_path_factory.mktemp("csv"), CSV_SOURCE, "a.csv", lines, b"id,t,u,a,p,r\n", gz=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(corrupt(GOOD_JSON), min_size=1, max_size=12))
def test_jsonl_gz_lines_are_all_accounted_for(tmp_path_factory, lines):
    _check(tmp_path_factory.mktemp("jsonl"), JSON_SOURCE, "a.jsonl.gz", lines, b"", gz=True)
