"""The analyst's drill-down: every event behind a patient, account or address, with the evidence line itself."""

from __future__ import annotations

import polars as pl
import pytest

from scoping import Case, cli
from scoping.errors import ConfigError, IntegrityError


@pytest.fixture(scope="module")
def ingested(world_factory, tmp_path_factory):
    import shutil

    folder = tmp_path_factory.mktemp("drill") / "case"
    shutil.copytree(world_factory(seed=7, scale=0.3), folder, ignore=shutil.ignore_patterns("case.duckdb*", "out"))
    with Case.open(folder) as case:
        case.ingest(progress=False)
    return folder


def test_every_line_behind_a_patient_is_shown_from_the_evidence_itself(ingested):
    with Case.open(ingested) as case:
        patient = case.scope(check_evidence=False).affected["patient_id"][0]
        rows = case.timeline(patient=patient, raw=True)
        counted = case.sql("SELECT count(*) AS n FROM events WHERE patient_id = $p", {"p": patient})["n"][0]
    assert rows.height == counted > 0
    assert rows["raw_line"].null_count() == 0
    assert all(patient in line for line in rows["raw_line"])
    assert rows["ts_utc"].to_list() == sorted(rows["ts_utc"].to_list())


def test_an_address_and_a_time_range_narrow_the_drill_down(ingested):
    with Case.open(ingested) as case:
        rows = case.timeline(address="203.0.113.10", since="2025-11-10 18:00", until="2025-11-10 20:00")
    assert rows.height > 0 and set(rows["src_ip"]) == {"203.0.113.10"}
    assert rows["ts_utc"].min() >= "2025-11-10T17:00:00"


def test_the_drill_down_refuses_changed_evidence_and_an_empty_question(ingested, tmp_path):
    import shutil

    folder = tmp_path / "case"
    shutil.copytree(ingested, folder)
    with Case.open(folder) as case:
        with pytest.raises(ConfigError):
            case.timeline()
        rows = case.timeline(account="dr-00001", limit=5)
        path = folder / rows["source_path"][0]
        path.write_bytes(path.read_bytes() + b"\n")
        with pytest.raises(IntegrityError, match="changed since it was ingested"):
            case.timeline(account="dr-00001", limit=5, raw=True)
    assert rows.height == 5 and isinstance(rows, pl.DataFrame)


def test_timeline_prints_the_lines(ingested, capsys):
    assert cli.main(["timeline", str(ingested), "--account", "dr-00001", "--raw", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "3 event(s)" in out and "dr-00001" in out


def test_the_timeline_gives_each_event_its_segment_verdict(ingested):
    with Case.open(ingested) as case:
        result = case.scope(check_evidence=False)
        attacker = result.sessions.filter(pl.col("verdict") == "attacker").row(0, named=True)
        rows = case.timeline(account=attacker["account_id"], since="2025-11-10 18:00", limit=100_000)
    mine = rows.filter(pl.col("segment_key") == attacker["segment_key"])
    assert mine.height >= attacker["n_events"]  # one row per patient an event names
    assert set(mine["verdict"]) == {"attacker"}


def test_the_timesketch_export_has_the_required_fields_and_no_patient_unless_asked(ingested, tmp_path):
    import json
    import shutil

    folder = tmp_path / "case"
    shutil.copytree(ingested, folder)
    with Case.open(folder) as case:
        result = case.scope(check_evidence=False)
        case.export_timeline(result)
        lines = [json.loads(x) for x in (case.out / "timeline" / "timesketch.jsonl").read_text().splitlines()]
        assert lines and all({"message", "datetime", "timestamp_desc", "timestamp"} <= set(x) for x in lines)
        assert all("patient_id" not in x for x in lines)
        assert {x["verdict"] for x in lines} >= {"attacker"}
        assert [x["timestamp"] for x in lines] == sorted(x["timestamp"] for x in lines)
        patients = set(result.affected["patient_id"])
        assert not any(p in json.dumps(x) for x in lines[:200] for p in list(patients)[:50])
        case.export_timeline(result, with_patients=True)
        named = [json.loads(x) for x in (case.out / "timeline" / "timesketch.jsonl").read_text().splitlines()]
        assert {x["patient_id"] for x in named if x.get("patient_id")} >= set(result.accesses["patient_id"])
        assert case.verify(recompute=True).ok
