"""Small helpers shared by tests: running a world end to end and comparing with its truth."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from scoping import Case

KEY = ["practice_id", "patient_id"]
TRUTH_COLUMNS = ["exposure", "modified", "actions", "categories", "first_access_utc", "last_access_utc", "accounts"]


def run_case(folder: Path, **scope_kwargs):
    with Case.open(folder) as case:
        report = case.ingest(progress=False)
        result = case.scope(**scope_kwargs)
        result.export()
    return report, result


def read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def compare_with_truth(folder: Path) -> dict[str, int]:
    """Precision and recall of the affected and attempted lists, plus per-column mismatches."""
    truth = read(folder / "truth/affected_patients.csv")
    out = read(folder / "out/affected_patients.csv")
    missing = truth.join(out, on=KEY, how="anti").height
    extra = out.join(truth, on=KEY, how="anti").height
    joined = truth.join(out, on=KEY, suffix="_out")
    mismatches = {c: joined.filter(pl.col(c) != pl.col(f"{c}_out")).height for c in TRUTH_COLUMNS}
    t_att = read(folder / "truth/attempted_patients.csv")
    o_att = read(folder / "out/attempted_patients.csv")
    return {
        "truth": truth.height, "out": out.height, "missing": missing, "extra": extra,
        "attempted_missing": t_att.join(o_att, on=KEY, how="anti").height,
        "attempted_extra": o_att.join(t_att, on=KEY, how="anti").height,
        **{f"mismatch_{c}": n for c, n in mismatches.items()},
    }


def truth_counts(folder: Path) -> dict:
    return json.loads((folder / "truth/counts.json").read_text())


CSV_CASE = """
[sources.app]
format = "csv"
files = ["log.csv"]
ts_format = "%Y-%m-%d %H:%M:%S"
timezone = "Europe/Paris"
[sources.app.columns]
event_key = "id"
ts = "t"
account_id = "u"
action = "a"
patient_id = "p"
outcome = "r"
[sources.app.maps.action]
VIEW = "view"
[sources.app.maps.outcome]
OK = "success"
DENIED = "failure"
[reference.accounts]
file = "accounts.csv"
timezone = "Europe/Paris"
[reference.patients]
file = "patients.csv"
[incident]
name = "a small case"
timezone = "Europe/Paris"
windows = [["2025-11-10 00:00", "2025-11-11 00:00"]]
compromised_accounts = ["drX"]
"""


def csv_case(folder: Path, *, log: str, patients: str,
             accounts: str = "account_id,practice_id,active_until\ndrX,P9,2025-01-01\n") -> Path:
    """A one-file case: a CSV log `id,t,u,a,p,r` (action VIEW, outcome OK or DENIED), the departed drX compromised
    on 10 November 2025, the patients and accounts given."""
    (folder / "log.csv").write_bytes(log.encode())
    (folder / "accounts.csv").write_text(accounts)
    (folder / "patients.csv").write_text(patients)
    (folder / "case.toml").write_text(CSV_CASE)
    return folder
