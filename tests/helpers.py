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
