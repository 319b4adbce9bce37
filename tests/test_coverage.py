"""What the logs cannot show: empty hours read against the same hours of usual weeks, and holes in a log's own
numbering (sequential ids), found inside the windows only."""

from __future__ import annotations

import json

import duckdb
import pytest
from helpers import run_case

from scoping import Case, figures, queries
from scoping.store import Runner


def test_the_demo_coverage_flags_no_ordinary_night_hour(world_factory, tmp_path_factory):
    """The demo (`scoping demo`: seed 7, scale 1) has no log outage: its empty hours are nights, lunch breaks and one
    doctor's weekly evening session that moved to another day; none is flagged as usually active."""
    import shutil

    folder = tmp_path_factory.mktemp("demo") / "case"
    shutil.copytree(world_factory(seed=7, scale=1.0), folder, ignore=shutil.ignore_patterns("case.duckdb*", "out"))
    _, result = run_case(folder)
    gaps = result.summary["log_gaps"]
    assert sum(g["hours"] for g in gaps) >= 20  # the nights of the windows are empty ...
    assert not [g for g in gaps if g["usually_active"]]  # ... and usually quiet
    title = figures.coverage(result).get_suptitle()
    assert "0 usually active (red)" in title
    sequential = result.frames["sequence_sources"].filter("sequential")["source"].to_list()
    assert sequential == ["gateway", "webapp"] and result.frames["sequence_gaps"].is_empty()


def _edit(path, edit) -> None:
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(edit(lines)))


def test_a_hole_in_the_ids_inside_the_window_is_found_and_nothing_else(fresh_world):
    folder = fresh_world(seed=7, scale=0.3)
    log = folder / "logs" / "webapp-2025-11.csv"
    removed: list[int] = []

    def edit(lines: list[bytes]) -> list[bytes]:
        inside = [i for i, line in enumerate(lines) if b",2025-11-11 09:" in line[:40]]
        outside = [i for i, line in enumerate(lines) if b",2025-11-06 10:" in line[:40]]
        removed.extend(int(lines[i].split(b",")[0]) for i in inside[10:13])
        damaged = inside[30]  # unreadable, not missing: its id is in the evidence
        lines[damaged] = lines[damaged].replace(b",2025-11-11 09:", b",not a time 09:", 1)
        drop = set(inside[10:13]) | set(outside[5:7])  # the two outside the windows are not read
        return [line for i, line in enumerate(lines) if i not in drop]

    _edit(log, edit)
    _, result = run_case(folder)
    holes = result.frames["sequence_gaps"]
    assert holes.select("source", "first_missing", "last_missing", "missing").rows() == [
        ("webapp", removed[0], removed[-1], 3)]
    row = holes.row(0, named=True)
    assert row["after_file"] == row["before_file"] == "logs/webapp-2025-11.csv"
    assert row["before_line"] == row["after_line"] + 1  # the lines are gone from the file
    summary = json.loads((folder / "out" / "summary.json").read_text())
    assert summary["sequence_gaps"]["gaps"][0]["missing"] == 3
    assert {s["source"]: s["sequential"] for s in summary["sequence_gaps"]["sources"]} == {"gateway": True,
                                                                                          "webapp": True}
    assert "3 id(s) missing" in figures.coverage(result).get_suptitle()
    with Case.open(folder) as case:
        case.report(result)
    html = (folder / "out" / "report.html").read_text()
    assert f"{removed[0]} – {removed[-1]}" in html


def _runner() -> Runner:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(queries.get("store_macros").text)
    runner = Runner(con)
    runner.run("store_schema")
    runner.execute("windows", "CREATE TABLE incident_windows AS SELECT * FROM (VALUES "
                   "(1, TIMESTAMPTZ '2025-11-10 10:00:00+00', TIMESTAMPTZ '2025-11-10 12:00:00+00'), "
                   "(2, TIMESTAMPTZ '2025-11-11 10:00:00+00', TIMESTAMPTZ '2025-11-11 12:00:00+00')) "
                   "t(window_no, start_utc, end_utc)")
    return runner


def _log(runner: Runner, source: str, source_id: str, keys: list[str | None], *, start: str = "2025-11-10 10:00",
         step_minutes: int = 1, first_line: int = 2) -> None:
    runner.execute("evidence", "INSERT INTO evidence (source_id, source, kind, path) VALUES ($i, $s, 'log', $p)",
                   {"i": source_id, "s": source, "p": f"{source_id}.csv"})
    for n, key in enumerate(keys):
        if key is None:  # a quarantined line
            runner.execute("q", "INSERT INTO quarantine (source_id, source_line, reason) VALUES ($i, $l, 'bad')",
                           {"i": source_id, "l": first_line + n})
            continue
        runner.execute("e", "INSERT INTO events (event_key, ts, account_id, source_id, source_line) VALUES "
                       "($k, CAST($t AS TIMESTAMPTZ) + to_minutes(CAST($m AS BIGINT)), 'a', $i, $l)",
                       {"k": key, "t": start + "+00", "m": n * step_minutes, "i": source_id, "l": first_line + n})


@pytest.fixture
def sequences():
    def run(runner: Runner) -> tuple[list[dict], list[dict]]:
        span = {"from_ts": "2025-11-10T10:00:00+00:00", "to_ts": "2025-11-11T12:00:00+00:00"}
        sources = runner.frame("scope_sequence_sources", **span, min_records=10, min_share=0.9)
        found = sources.filter("sequential")["source"].to_list()
        return sources.to_dicts(), runner.frame("scope_sequence_gaps", **span, sources=found).to_dicts()

    return run


def test_holes_are_counted_per_window_and_unreadable_lines_fill_them(sequences):
    r = _runner()
    ids = [f"app:{n}" for n in range(100, 130)]
    keys: list[str | None] = [*ids[:10], None, *ids[11:20], *ids[25:]]  # 110 unreadable, 120-124 missing
    _log(r, "app", "f1", keys)
    _log(r, "app", "f2", [f"app:{n}" for n in range(900, 915)], start="2025-11-11 10:00")  # 130-899: between windows
    _log(r, "app", "f3", [f"app:{n}" for n in range(500, 520)], start="2025-11-10 13:00")  # outside the windows
    sources, holes = sequences(r)
    assert [(s["source"], s["sequential"], s["records"]) for s in sources] == [("app", True, 39)]
    assert [(h["first_missing"], h["last_missing"], h["missing"], h["quarantined_between"]) for h in holes] == [
        (120, 124, 5, 0)]


def test_a_rotated_file_missing_between_two_is_a_hole(sequences):
    r = _runner()
    _log(r, "app", "f1", [f"app:r{n:06d}" for n in range(1, 21)])
    _log(r, "app", "f3", [f"app:r{n:06d}" for n in range(41, 61)], start="2025-11-10 10:30")
    sources, holes = sequences(r)
    assert sources[0]["sequential"] and sources[0]["prefix"] == "r"
    assert [(h["first_missing"], h["last_missing"], h["missing"], h["after_file"], h["before_file"]) for h in holes] \
        == [(21, 40, 20, "f1.csv", "f3.csv")]


@pytest.mark.parametrize("keys", [
    [f"sha256:{n:032x}" for n in range(30)],             # no key in the log: a digest of the line
    [f"app:{n * 1000 + 7}" for n in range(30)],          # numbers, but not one after another
    [f"app:{n}" if n % 2 else f"app:x{n}" for n in range(30)],  # two prefixes
    [f"app:{n}" for n in range(5)],                      # too few to say
], ids=["hashed", "sparse", "mixed", "few"])
def test_keys_that_are_no_sequence_are_not_read_as_one(sequences, keys):
    r = _runner()
    _log(r, "app", "f1", keys)
    sources, holes = sequences(r)
    assert not sources[0]["sequential"] and holes == []
