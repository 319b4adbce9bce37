"""The synthetic world: deterministic, and its truth checked against the raw log lines with plain Python
(csv, json, gzip, re, tomllib), independently of the scoping engine."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import tomllib
from pathlib import Path

import pytest

from scoping.synth import SynthOptions, synthesize


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("logs", "reference", "truth") for p in sorted((folder / sub).iterdir())} | {
        "case.toml": hashlib.sha256((folder / "case.toml").read_bytes()).hexdigest()}


def test_same_seed_same_bytes_other_seed_other_world(tmp_path):
    a, b, c = (synthesize(tmp_path / n, SynthOptions(scale=0.1, seed=s)) for n, s in (("a", 3), ("b", 3), ("c", 4)))
    assert _digest(a.folder) == _digest(b.folder)
    assert _digest(a.folder)["webapp-2025-10.csv"] != _digest(c.folder)["webapp-2025-10.csv"]


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
    folder = tmp_path_factory.mktemp("synth")
    synthesize(folder, SynthOptions(scale=0.4, seed=21))
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
