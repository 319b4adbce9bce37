"""The report states when its run was first recorded, never when it was last recorded nor the clock: the same run
published again, days later, gives the same bytes; a store from before the column existed takes its recorded_at."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from scoping import Case


@pytest.fixture
def copied(reported, tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(reported, folder)
    return folder


def _store(folder, sql: str) -> None:
    con = duckdb.connect(str(folder / "case.duckdb"))
    try:
        con.execute(sql)
    finally:
        con.close()


def test_recording_the_run_again_days_later_changes_no_byte_of_its_report(copied):
    # as if the run had been recorded three days ago
    _store(copied, "UPDATE runs SET recorded_at = recorded_at - INTERVAL 3 DAY, "
                   "first_recorded_at = first_recorded_at - INTERVAL 3 DAY")
    with Case.open(copied) as case:
        then = case.runs().filter(kind="scope").row(0, named=True)
        case.report(case.run())
        before = (copied / "out" / "report.html").read_bytes()
        result = case.scope()  # the same inputs: the same run, recorded again now
        now = case.runs().filter(kind="scope").row(0, named=True)
        assert result.run_id == then["run_id"] == now["run_id"]
        assert now["recorded_at_utc"] > then["recorded_at_utc"]
        assert now["first_recorded_at_utc"] == then["first_recorded_at_utc"] == result.run.first_recorded_at
        case.publish(result)
        case.report(result)
        assert (copied / "out" / "report.html").read_bytes() == before
        assert case.verify(recompute=True).ok
    stated = then["first_recorded_at_utc"][:16].replace("T", " ")
    assert f"first recorded {stated} UTC" in before.decode()


def test_a_store_recorded_before_first_recorded_at_existed_takes_its_recorded_at(copied):
    _store(copied, "ALTER TABLE runs DROP COLUMN first_recorded_at")
    with Case.open(copied) as case:
        listed = case.runs()  # reading the runs brings the table up to date
        assert listed.height >= 1
        assert listed["first_recorded_at_utc"].to_list() == listed["recorded_at_utc"].to_list()
        old = listed.filter(kind="scope").row(0, named=True)
        result = case.scope()  # the same run recorded again keeps that first recording
        again = case.runs().filter(run_id=result.run_id).row(0, named=True)
    assert result.run_id == old["run_id"]
    assert again["first_recorded_at_utc"] == old["recorded_at_utc"] < again["recorded_at_utc"]
