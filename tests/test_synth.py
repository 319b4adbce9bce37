"""The synthetic world: deterministic, and its truth checked against the raw log lines with plain Python
(csv, json, gzip), independently of the scoping engine."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
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


def _log_lines(folder: Path):
    """Every well-formed log line as (account, ip, user agent, patients, ok), parsed without scoping."""
    for path in sorted((folder / "logs").glob("webapp-*.csv")):
        text = path.read_bytes().decode("utf-8", errors="replace")
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("result") in ("OK", "DENIED") and row.get("user"):
                pats = [p for p in (row.get("patient") or "").split(";") if p]
                yield row["user"], row["ip"], row["user_agent"], pats, row["result"] == "OK", row["action"]
    for path in sorted((folder / "logs").glob("gateway-*.jsonl.gz")):
        data = b""
        try:
            data = gzip.decompress(path.read_bytes())
        except EOFError:
            pass
        for raw in data.splitlines():
            try:
                rec = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if not isinstance(rec, dict):
                continue
            pats = (rec.get("payload") or {}).get("patient_ids") or []
            parts = rec["path"].split("/")
            if len(parts) > 4 and parts[3] == "patients" and "?" not in rec["path"]:
                pats = [parts[4]]
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
