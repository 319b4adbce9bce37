"""The synthetic world: deterministic, and its truth checked against the raw log lines with plain Python
(csv, json, gzip, re, tomllib), independently of the scoping engine."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import io
import json
import re
import tomllib
from pathlib import Path

import pytest

from scoping.errors import ConfigError
from scoping.synth import SynthOptions, synthesize
from scoping.synth_world import scenario_for


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("logs", "reference", "truth") for p in sorted((folder / sub).iterdir())} | {
        "case.toml": hashlib.sha256((folder / "case.toml").read_bytes()).hexdigest()}


def _replaying(scale: float) -> SynthOptions:
    return SynthOptions(scale=scale, seed=21, scenario=dataclasses.replace(scenario_for(scale), replayed_session=True))


def test_same_seed_same_bytes_other_seed_other_world(tmp_path):
    a, b, c = (synthesize(tmp_path / n, SynthOptions(scale=0.1, seed=s)) for n, s in (("a", 3), ("b", 3), ("c", 4)))
    assert _digest(a.folder) == _digest(b.folder)
    assert _digest(a.folder)["webapp-2025-10.csv"] != _digest(c.folder)["webapp-2025-10.csv"]
    d, e = (synthesize(tmp_path / n, _replaying(0.1)) for n in ("d", "e"))
    assert _digest(d.folder) == _digest(e.folder)


def _gateway(folder: Path):
    """Every well-formed JSON record of the API gateway."""
    for path in sorted((folder / "logs").glob("gateway-*.jsonl.gz")):
        for raw in gzip.decompress(path.read_bytes()).splitlines():
            try:
                rec = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(rec, dict) and "user" in rec:
                yield rec


_PATIENT_PATH = re.compile(r"^/api/v1/patients/([^/?]+)")


def _log_lines(folder: Path):
    """Every well-formed log line as (account, ip, user agent, patients, ok, what), parsed without scoping."""
    for path in sorted((folder / "logs").glob("webapp-*.csv")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("result") in ("OK", "DENIED") and row.get("user"):
                pats = [p for p in (row.get("patient") or "").split(";") if p]
                yield row["user"], row["ip"], row["user_agent"], pats, row["result"] == "OK", row["action"]
    for rec in _gateway(folder):
        found = _PATIENT_PATH.match(rec["path"])
        pats = rec["results"] or ([found.group(1)] if found else [])
        yield rec["user"], rec["client_ip"], rec["user_agent"], pats, 200 <= rec["status"] < 300, rec["path"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Without the replayed session, whatever the scenario's default."""
    folder = tmp_path_factory.mktemp("synth")
    synthesize(folder, SynthOptions(scale=0.4, seed=21, scenario=dataclasses.replace(scenario_for(0.4),
                                                                                     replayed_session=False)))
    return folder


def _truth(folder: Path, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader((folder / "truth" / name).open()))


def test_every_truth_patient_has_a_successful_attacker_line(world):
    sessions = {(r["account_id"], r["ip"], r["user_agent"]) for r in _truth(world, "attacker_sessions.csv")}
    reached = set()
    tried = set()
    for account, ip, ua, pats, ok, _ in _log_lines(world):
        if (account, ip, ua) in sessions:
            (reached if ok else tried).update(pats)
    affected = {r["patient_id"] for r in _truth(world, "affected_patients.csv")}
    attempted = {r["patient_id"] for r in _truth(world, "attempted_patients.csv")}
    assert affected == reached
    assert attempted == tried - reached


def test_no_decoy_and_no_owner_session_is_in_the_truth(world):
    decoys = {r["account_id"] for r in _truth(world, "decoys.csv")}
    compromised = {r["account_id"] for r in _truth(world, "compromised_accounts.csv")}
    assert len(decoys) == 3 and not decoys & compromised
    for row in _truth(world, "affected_patients.csv"):
        assert not set(row["accounts"].split("|")) & decoys
    owner_sessions = [s for s in _truth(world, "attacker_sessions.csv") if s["ip"].startswith("172.16.")]
    assert owner_sessions == []  # the owners' practice addresses never appear among attacker sessions


def test_counts_describe_the_files(world):
    counts = json.loads((world / "truth" / "counts.json").read_text())
    for f in counts["files"]:
        path = world / f["path"]
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines = data.count(b"\n") - (1 if path.suffix == ".csv" else 0)
        assert lines == f["lines"], f["path"]
        assert f["events"] + f["duplicates"] + sum(f["malformed"].values()) == f["lines"], f["path"]


def test_the_breach_has_the_shape_of_the_scenario(world):
    compromised = _truth(world, "compromised_accounts.csv")
    assert sum(r["owner_active_during_breach"] == "true" for r in compromised) == 1
    sessions = _truth(world, "attacker_sessions.csv")
    assert any(s["ip"] == "192.0.2.77" for s in sessions)                 # the carrier address
    assert any(s["user_agent"].startswith("python-requests") for s in sessions)
    affected = _truth(world, "affected_patients.csv")
    assert {r["exposure"] for r in affected} == {"listed", "opened", "copied"}
    assert any(r["modified"] == "true" for r in affected)
    assert len({r["practice_id"] for r in affected}) > 5                 # many practices, not one


def test_search_pages_and_exported_lists_name_their_patients(world):
    searches, pages, exports = [], [], []
    for rec in _gateway(world):
        assert "payload" not in rec
        if rec["method"] == "GET" and re.match(r"^/api/v1/patients/?[?]", rec["path"]):
            searches.append(rec)
            if "&page=" in rec["path"]:
                pages.append(rec)
        elif rec["path"].startswith("/api/v1/exports"):
            exports.append(rec)
        else:
            assert rec["results"] is None, rec
    assert searches and pages and exports
    assert all(r["results"] and all(re.fullmatch(r"P\d{7}", p) for p in r["results"]) for r in searches + exports)
    # a later page repeats the search term of its first page, in the same session, seconds later
    first = {}
    for r in searches:
        term = re.search(r"q=(n\d+)", r["path"]).group(1)
        if "&page=" not in r["path"]:
            first[(r["session"], term)] = r
    assert all((r["session"], re.search(r"q=(n\d+)", r["path"]).group(1)) in first for r in pages)
    # the truth lists the patients only found in an attacker's result page as `listed`
    affected = {r["patient_id"]: r for r in _truth(world, "affected_patients.csv")}
    listed = {p for r in _truth(world, "affected_patients.csv") if r["exposure"] == "listed"
              for p in [r["patient_id"]]}
    assert listed and all(affected[p]["actions"] == "search" for p in listed)


def test_paths_with_a_trailing_slash_or_a_query_string_are_classified_by_the_rules(world):
    sessions = {(r["account_id"], r["ip"]) for r in _truth(world, "attacker_sessions.csv")}
    seen = {(attacker, kind): 0 for attacker in (False, True) for kind in ("slash", "query")}
    rules = tomllib.loads((world / "case.toml").read_text())["sources"]["gateway"]["rules"]

    def classify(rec: dict) -> tuple[str | None, str | None]:
        action = patient = None
        for rule in rules:
            groups = {}
            for field, pattern in rule["when"].items():
                m = re.search(pattern, str(rec[field]))
                if not m:
                    break
                groups.update({k: v for k, v in m.groupdict().items() if v})
            else:
                action = action or rule.get("set", {}).get("action")
                patient = patient or groups.get("patient_id")
        return action, patient

    for rec in _gateway(world):
        path = rec["path"]
        found = _PATIENT_PATH.match(path)
        kind = "slash" if re.search(r"/($|\?)", path) else "query" if "?" in path and found else None
        if kind is None or not found:
            continue
        seen[((rec["user"], rec["client_ip"]) in sessions, kind)] += 1
        action, patient = classify(rec)
        assert patient == found.group(1) and "/" not in patient and "?" not in patient, path
        assert action in ("view", "download", "print", "update", "create", "share"), path
        if re.fullmatch(r"/api/v1/patients/[^/?]+/?(\?.*)?", path):
            assert action == "view", path
    assert all(seen.values()), seen


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("replayed")
    synthesize(folder, _replaying(0.4))
    return folder


def test_the_replayed_session_is_in_the_logs_as_described(replayed):
    row = [r for r in _truth(replayed, "attacker_sessions.csv") if r["kind"] == "attack_replayed_session"]
    assert len(row) == 1
    account, sid, attacker_ip, owner_ip = (row[0][k] for k in ("account_id", "session_id", "ip", "owner_ip"))
    assert sid and attacker_ip != owner_ip
    recs = list(_gateway(replayed))
    session = sorted((r for r in recs if r["session"] == sid), key=lambda r: r["request_id"])
    assert {r["user"] for r in session} == {account}
    assert {r["client_ip"] for r in session} == {attacker_ip, owner_ip}
    assert len({r["user_agent"] for r in session}) == 1                       # the owner's own browser string
    assert not row[0]["user_agent"].startswith("python-requests")
    # an address the account never used anywhere else
    assert not [r for r in recs if r["user"] == account and r["client_ip"] == attacker_ip and r["session"] != sid]
    owner = [r for r in session if r["client_ip"] == owner_ip]
    thief = [r for r in session if r["client_ip"] == attacker_ip]
    assert owner[0]["path"] == "/api/v1/auth/login" and owner[-1]["path"] == "/api/v1/auth/logout"
    assert not [r for r in thief if r["path"].startswith("/api/v1/auth/")]   # a replayed cookie never logs in
    # interleaved: the owner keeps working between the attacker's first and last requests, and the other way
    owner_ids = [r["request_id"] for r in owner]
    thief_ids = [r["request_id"] for r in thief]
    assert sum(thief_ids[0] < i < thief_ids[-2] for i in owner_ids) >= 3
    assert sum(owner_ids[0] < i < owner_ids[-1] for i in thief_ids) == len(thief_ids) - 1
    assert thief[-1]["status"] == 401 and thief[-1]["request_id"] > owner_ids[-1]   # the cookie died at logout
    # whose patients: the owner's stay out of the truth, the attacker's are in it
    practices: dict[str, set[str]] = {}
    for r in _truth(replayed, "../reference/patients.csv"):
        practices.setdefault(r["patient_id"], set()).add(r["practice_id"])
    mine = {p for r in owner for p in _patients_of(r)}
    theirs = {p for r in thief if 200 <= r["status"] < 300 for p in _patients_of(r)}
    tried = {p for r in thief if r["status"] >= 400 for p in _patients_of(r)} - theirs
    affected = {r["patient_id"] for r in _truth(replayed, "affected_patients.csv")}
    attempted = {r["patient_id"] for r in _truth(replayed, "attempted_patients.csv")}
    assert mine and not mine & (affected | attempted)
    assert theirs <= affected and tried <= attempted
    practice = {r["account_id"]: r["practice_id"] for r in _truth(replayed, "../reference/accounts.csv")}[account]
    assert all(practice in practices[p] for p in mine)
    assert not [p for p in theirs | tried if practice in practices[p]]   # none of them the owner's patients
    compromised = {r["account_id"]: r for r in _truth(replayed, "compromised_accounts.csv")}
    assert compromised[account]["owner_active_during_breach"] == "true"
    incident = tomllib.loads((replayed / "case.toml").read_text())["incident"]
    assert account in incident["compromised_accounts"]


def _patients_of(rec: dict) -> list[str]:
    found = _PATIENT_PATH.match(rec["path"])
    return rec["results"] or ([found.group(1)] if found else [])


def test_the_replay_adds_its_own_patients_and_changes_nothing_else(world, replayed):
    """Same seed and scale, flag off and on: every other patient's row of the truth is the same."""
    def rows(folder):
        return {r["patient_id"] + "@" + r["practice_id"]: r for r in _truth(folder, "affected_patients.csv")}

    off, on = rows(world), rows(replayed)
    assert set(off) < set(on)
    assert all(on[k] == off[k] for k in off)
    added = {k.split("@")[0] for k in set(on) - set(off)}
    assert {a for k in set(on) - set(off) for a in on[k]["accounts"].split("|")} == {
        r["account_id"] for r in _truth(replayed, "attacker_sessions.csv") if r["kind"] == "attack_replayed_session"}
    assert added
    for name in ("accounts.csv", "patients.csv", "care.csv"):
        assert (world / "reference" / name).read_bytes() == (replayed / "reference" / name).read_bytes()


def test_without_the_flag_there_is_no_replayed_session(world):
    assert not [r for r in _truth(world, "attacker_sessions.csv") if r["kind"] == "attack_replayed_session"]
    assert len(_truth(world, "compromised_accounts.csv")) == len(
        tomllib.loads((world / "case.toml").read_text())["incident"]["compromised_accounts"])


def test_more_days_same_daily_volume_same_breach(tmp_path):
    """`--days` adds days of normal work before the breach: the same daily volume, one web file per month, the
    gateway's files numbered in order, the same truth; the default world is unchanged (its files keep their names)."""
    short = synthesize(tmp_path / "short", SynthOptions(scale=0.1, seed=5))
    long = synthesize(tmp_path / "long", SynthOptions(scale=0.1, seed=5, days=70))
    assert sorted(p.name for p in (short.folder / "logs").iterdir()) == [
        "gateway-1.jsonl.gz", "gateway-2.jsonl.gz", "webapp-2025-10.csv", "webapp-2025-11.csv"]
    assert sorted(p.name for p in (long.folder / "logs").iterdir()) == [
        "gateway-1.jsonl.gz", "gateway-2.jsonl.gz", "gateway-3.jsonl.gz", "webapp-2025-09.csv",
        "webapp-2025-10.csv", "webapp-2025-11.csv"]
    assert 2.0 < long.events / short.events < 3.0  # 70 days of work against 28, the breach the same
    for name in ("affected_patients.csv", "attempted_patients.csv", "compromised_accounts.csv"):
        assert (long.folder / "truth" / name).read_bytes() == (short.folder / "truth" / name).read_bytes()
    first = (long.folder / "logs" / "webapp-2025-09.csv").read_text().splitlines()[1]
    assert first.split(",")[1].startswith("2025-09-01")  # 70 days before 10 November: Monday 1 September
    assert "--days 70" in (long.folder / "case.toml").read_text().splitlines()[0]
    year = synthesize(tmp_path / "year", SynthOptions(scale=0.02, seed=5, formats=("jsonl",), days=400))
    names = [p.name for p in (year.folder / "logs").iterdir()]
    assert len(names) == 14 and "gateway-01.jsonl.gz" in names  # read in time order: their names sort so
    counts = json.loads((year.folder / "truth" / "counts.json").read_text())["files"]
    assert [f["path"] for f in counts] == sorted(f["path"] for f in counts)
    with pytest.raises(ConfigError, match="28 to 3650 days"):
        synthesize(tmp_path / "too-short", SynthOptions(scale=0.1, days=10))


@pytest.mark.parametrize(("formats", "web", "api"), [(("csv", "fhir"), "csv", "fhir"),
                                                     (("fhir", "jsonl"), "jsonl", "fhir"),
                                                     (("fhir",), "fhir", "fhir")])
def test_two_formats_asked_are_both_written(tmp_path, formats, web, api):
    """--formats csv,fhir wrote FHIR only: each channel now has its own format, and case.toml reads both."""
    synthesize(tmp_path / "w", SynthOptions(scale=0.02, seed=3, formats=formats))
    logs = {p.name for p in (tmp_path / "w" / "logs").iterdir()}
    written = {"csv" if n.endswith(".csv") else "fhir" if n.startswith("audit-events") else "jsonl" for n in logs}
    assert written == {web, api}
    sources = tomllib.loads((tmp_path / "w" / "case.toml").read_text())["sources"]
    assert {s["format"] for s in sources.values()} == {web, api}


def test_more_formats_than_channels_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="at most two formats"):
        synthesize(tmp_path / "w", SynthOptions(scale=0.02, seed=3, formats=("csv", "jsonl", "fhir")))
