"""The files of a scope run's lists (CASE/out/ top level and by_controller/), rendered as bytes from its tables.

Nothing here reads the store or writes a file: the publisher writes what these functions return. With a
pseudonymisation key every patient id is replaced by a keyed hash (HMAC-SHA256) in every file, and so are the log's
own identifiers that often embed one (an event's key such as "req-<patient>-7", a document's id such as
"CR-<patient>-2025"): the evidence file and line of each access still lead to it. The key is never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from .writers import csv_bytes, csv_groups, json_bytes, pseudonymise

# columns whose values a pseudonymised set replaces by keyed hashes: patient ids, and log identifiers that may hold one
PSEUDONYMISED = ("patient_id", "event_key", "resource_id")

# file name → the table it shows (one row per patient and controller, per account, per segment…)
LIST_FILES = {
    "affected_patients.csv": "affected",
    "attempted_patients.csv": "attempted",
    "unassigned_patients.csv": "unassigned",
    "exposures.csv": "exposures",
    "accesses.csv": "accesses",
    "sessions.csv": "segments",
    "accounts.csv": "accounts",
}


def scope_files(frames: Mapping[str, pl.DataFrame], summary: Mapping[str, Any], practice_files: Mapping[str, str],
                *, pseudonymise_key: bytes | None = None) -> dict[str, bytes]:
    """Every list file of a scope run: the lists, one list per practice, the summary for the regulator's form."""

    def safe(df: pl.DataFrame) -> pl.DataFrame:
        return pseudonymise(df, pseudonymise_key, PSEUDONYMISED) if pseudonymise_key else df

    files = {name: csv_bytes(safe(frames[table])) for name, table in LIST_FILES.items()}
    for practice, data in csv_groups(safe(frames["affected"]), "practice_id"):  # rows are sorted by practice
        files[f"by_controller/{practice_files[practice]}.csv"] = data
    if pseudonymise_key:  # raw log values may name a patient in free text: a pseudonymised set shows none
        summary = {**summary, "unmapped_in_windows": [{k: v for k, v in r.items() if k != "action_raw"}
                                                      for r in summary.get("unmapped_in_windows") or []],
                   "unmapped_values": [{k: v for k, v in r.items() if k != "raw_value"}
                                       for r in summary.get("unmapped_values") or []]}
    files["summary.json"] = json_bytes(dict(summary))
    return files
