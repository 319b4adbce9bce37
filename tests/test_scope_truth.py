"""Scenario tests: on synthetic worlds, the lists equal the ground truth exactly (precision = recall = 1)."""

from __future__ import annotations

import json
import os
import stat

import polars as pl
import pytest
from helpers import KEY, compare_with_truth, read, run_case, truth_counts


@pytest.mark.parametrize(("seed", "scale"), [(7, 0.3), (11, 0.5), (2025, 1.0)])
def test_affected_and_attempted_lists_equal_the_truth(fresh_world, seed, scale):
    folder = fresh_world(seed=seed, scale=scale)
    run_case(folder)
    cmp = compare_with_truth(folder)
    assert cmp["truth"] > 50
    errors = {k: v for k, v in cmp.items() if k not in ("truth", "out")}
    assert errors == dict.fromkeys(errors, 0)
    assert cmp["truth"] == cmp["out"]


def test_each_practice_file_holds_exactly_its_patients(fresh_world):
    folder = fresh_world(seed=7, scale=0.3)
    run_case(folder)
    truth = read(folder / "truth/affected_patients.csv")
    names = json.loads((folder / "out/manifest.json").read_text())["practice_files"]
    for practice, part in truth.group_by("practice_id"):
        mine = read(folder / "out/by_controller" / f"{names[practice[0]]}.csv")
        assert sorted(mine["patient_id"]) == sorted(part["patient_id"])
        assert set(mine["practice_id"]) == {practice[0]}
    files = list((folder / "out/by_controller").glob("*.csv"))
    assert len(files) == truth["practice_id"].n_unique()


def test_patients_of_two_practices_are_in_both_lists(fresh_world):
    folder = fresh_world(seed=7, scale=0.3)
    run_case(folder)
    out = read(folder / "out/affected_patients.csv")
    doubles = out.group_by("patient_id").len().filter(pl.col("len") > 1)
    assert doubles.height > 0


def test_interleaved_owner_and_attacker_are_told_apart(fresh_world):
    folder = fresh_world(seed=7, scale=0.3)
    _, result = run_case(folder)
    compromised = read(folder / "truth/compromised_accounts.csv")
    interleaved = compromised.filter((pl.col("owner_active_during_breach") == "true")
                                     & (pl.col("how") == "password spraying take-over"))["account_id"][0]
    sessions = result.sessions.filter(pl.col("account_id") == interleaved)
    verdicts = set(sessions["verdict"])
    assert {"owner", "attacker", "undetermined"} <= verdicts
    truth_sessions = read(folder / "truth/attacker_sessions.csv").filter(pl.col("account_id") == interleaved)
    assert set(truth_sessions["ip"]) == set(sessions.filter(pl.col("verdict") != "owner")["src_ip"])


def test_excluding_undetermined_sessions_drops_only_their_patients(fresh_world):
    folder = fresh_world(seed=7, scale=0.3)
    _, with_und = run_case(folder)
    _, without = run_case(folder, count_undetermined=False)
    only_und = with_und.affected.filter(pl.col("attribution") == "undetermined")
    assert only_und.height > 0
    assert without.affected.height == with_und.affected.height - only_und.height


def test_every_line_is_accounted_for_and_matches_the_dirt_written(fresh_world):
    folder = fresh_world(seed=11, scale=0.5)
    report, _ = run_case(folder)
    counts = {f["path"]: f for f in truth_counts(folder)["files"]}
    for f in report.files:
        expected = counts[f.path]
        assert f.lines_read == expected["lines"], f.path
        assert f.events_loaded + f.duplicates + f.quarantined == f.lines_read
        assert f.duplicates == expected["duplicates"], f.path
        assert f.quarantined == sum(expected["malformed"].values()), f.path
        assert f.dst_flagged == expected["dst_ambiguous"], f.path


def test_outputs_are_byte_identical_across_runs(fresh_world, tmp_path):
    import shutil

    folder = fresh_world(seed=7, scale=0.3)
    run_case(folder)
    first = {p.relative_to(folder / "out"): p.read_bytes() for p in (folder / "out").rglob("*") if p.is_file()}
    other = tmp_path / "again"
    shutil.copytree(folder, other, ignore=shutil.ignore_patterns("case.duckdb*", "out"))
    run_case(other)
    second = {p.relative_to(other / "out"): p.read_bytes() for p in (other / "out").rglob("*") if p.is_file()}
    assert set(first) == set(second)
    for rel, data in first.items():
        if rel.name == "manifest.json":
            continue
        assert data == second[rel], rel


def test_outputs_naming_patients_are_owner_only_whatever_the_umask(fresh_world):
    folder = fresh_world(seed=7, scale=0.3)
    old = os.umask(0o000)
    try:
        run_case(folder)
    finally:
        os.umask(old)
    out = folder / "out"
    for p in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), p


def test_summary_carries_notification_fields(fresh_world):
    folder = fresh_world(seed=7, scale=0.3)
    _, result = run_case(folder)
    s = result.summary
    truth = read(folder / "truth/affected_patients.csv")
    assert s["counts"]["patients_affected"] == truth["patient_id"].n_unique()
    assert s["counts"]["controllers_affected"] == truth["practice_id"].n_unique()
    assert s["incident"]["windows_local"][0][0].startswith("2025-11-10T18:00:00+01:00")
    assert s["incident"]["windows_utc"][0][0] == "2025-11-10T17:00:00Z"
    assert {c["category"] for c in s["data_categories"]} >= {"full_record", "clinical_note"}
    assert s["data_quality"]["quarantined"] > 0
    assert all(g["start_utc"] < g["end_utc"] and g["hours"] >= 1 for g in s["log_gaps"])
    assert KEY  # the key columns exist in every list


def test_ingesting_in_small_batches_changes_nothing(fresh_world, monkeypatch):
    """Files are read in batches of lines (bounded memory); duplicates across batches are still found."""
    import scoping.ingest_read

    folder = fresh_world(seed=11, scale=0.5)
    monkeypatch.setattr(scoping.ingest_read, "BATCH_LINES", 997)
    report, _ = run_case(folder)
    counts = {f["path"]: f for f in truth_counts(folder)["files"]}
    for f in report.files:
        assert (f.lines_read, f.duplicates, f.quarantined) == (
            counts[f.path]["lines"], counts[f.path]["duplicates"], sum(counts[f.path]["malformed"].values()))
    cmp = compare_with_truth(folder)
    assert cmp["missing"] == cmp["extra"] == 0 and all(v == 0 for k, v in cmp.items() if k.startswith("mismatch"))


@pytest.mark.parametrize(("shift_minutes", "baseline_days"), [(0, 90), (37, 90), (-1, 3), (13, 1), (0, 0)])
def test_baseline_from_account_hours_equals_the_baseline_from_events(fresh_world, shift_minutes, baseline_days):
    """Scope reads most of the baseline from account_hours; it must be the very set the events give."""
    import dataclasses
    from datetime import timedelta

    from scoping import Case
    from scoping.incident import Window, baseline_start

    folder = fresh_world(seed=7, scale=0.3)
    with Case.open(folder) as case:
        case.ingest(progress=False)
        inc = case.incident()
        shift = timedelta(minutes=shift_minutes)
        inc = dataclasses.replace(inc.with_windows(tuple(Window(w.start + shift, w.end) for w in inc.windows)),
                                  baseline_days=baseline_days)
        case.scope(inc, check_evidence=False)
        got = case.sql("SELECT * FROM scope_baseline ORDER BY ALL")
        # the baseline is the events before the window, less refused ones and those of the segments being judged
        want = case.sql("SELECT DISTINCT account_id, src_ip, user_agent, CAST(timezone('UTC', ts) AS DATE) AS day "
                        "FROM events "
                        "WHERE ts >= $b AND ts < $w AND list_contains($a, account_id) AND outcome <> 'failure' "
                        "AND event_key NOT IN ("
                        "  SELECT event_key FROM scope_account_events WHERE segment_key IN ("
                        "    SELECT segment_key FROM scope_account_events e JOIN incident_windows w"
                        "    ON e.ts >= w.start_utc AND e.ts < w.end_utc)) ORDER BY ALL",
                        {"b": baseline_start(inc), "w": inc.start, "a": list(inc.compromised_accounts)})
    assert got.height > 0 or baseline_days == 0
    assert got.equals(want)


def test_a_store_without_account_hours_gets_them_rebuilt_with_the_same_lists(fresh_world):
    from scoping import Case

    folder = fresh_world(seed=7, scale=0.3)
    with Case.open(folder) as case:
        case.ingest(progress=False)
        before = case.scope(check_evidence=False).affected
        hours = case.sql("SELECT * FROM account_hours ORDER BY ALL")
        case.con.execute("DELETE FROM account_hours")  # as a store written by an earlier version
        after = case.scope(check_evidence=False).affected
        assert after.equals(before)
        assert case.sql("SELECT * FROM account_hours ORDER BY ALL").equals(hours)
