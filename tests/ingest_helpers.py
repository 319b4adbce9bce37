"""Small case folders for the ingest tests: a JSON-lines source, accounts, patients and an incident."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

ACCOUNTS = "account_id,practice_id,role,active_from,active_until\ndrA,PR1,doctor,2020-01-01T00:00:00Z,\n" \
           "drB,PR1,doctor,2020-01-01T00:00:00Z,\n"
PATIENTS = "patient_id,practice_id\n" + "".join(f"P{i},PR1\n" for i in range(1, 10)) + "P5;P7,PR1\n"
GATEWAY = """
[sources.api]
format = "jsonl"
files = ["logs/*.jsonl"]
[sources.api.columns]
event_key = "request_id"
ts = "when"
account_id = "who"
src_ip = "ip"
patient_id = "patient"
action = "verb"
"""
INCIDENT = """
[incident]
name = "test"
timezone = "UTC"
windows = [["2025-11-10 18:00", "2025-11-10 23:00"]]
compromised_accounts = ["drA"]
"""


def rec(**kw: object) -> bytes:
    base: dict[str, object] = {"request_id": "r1", "when": "2025-11-10T19:00:00Z", "who": "drA", "ip": "10.0.0.1",
                               "patient": "P1", "verb": "view"}
    base.update(kw)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


def make(root: Path, *, toml: str = GATEWAY + INCIDENT, files: dict[str, bytes] | None = None,
         accounts: str = ACCOUNTS, patients: str = PATIENTS) -> Path:
    (root / "logs").mkdir(parents=True, exist_ok=True)
    for name, data in (files or {}).items():
        (root / "logs" / name).write_bytes(data)
    (root / "accounts.csv").write_text(accounts)
    (root / "patients.csv").write_text(patients)
    (root / "case.toml").write_text(toml + '\n[reference.accounts]\nfile = "accounts.csv"\n'
                                    '[reference.patients]\nfile = "patients.csv"\n')
    return root


def query(folder: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(folder / "case.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def ledger(folder: Path) -> dict[str, tuple[int, int, int, int, int]]:
    """path → (lines read, events loaded, duplicates, conflicts, quarantined), each checked to add up."""
    rows = query(folder, "SELECT path, lines_read, events_loaded, duplicates, conflicts, quarantined FROM evidence "
                         "WHERE kind = 'log' ORDER BY path")
    for _, read, loaded, dups, conflicts, quarantined in rows:
        assert read == loaded + dups + conflicts + quarantined
    return {r[0]: tuple(r[1:]) for r in rows}


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under the folder with its SHA-256 (to prove a command wrote nothing)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
