"""The compromised accounts' timeline, for the timeline tools analysts already use (Timesketch and its peers).

One JSON object per line with Timesketch's three required fields — `message`, `datetime` (ISO 8601) and
`timestamp_desc` — plus `timestamp` (epoch microseconds) and the attributes an analyst filters on: account,
session, segment and its verdict, address, client, action, data category, outcome, and the evidence file and line.
Patient ids are left out unless asked for (`with_patients`): a timeline tool is often shared more widely than
the lists. So are, then, the log's values that often embed a patient id (the raw action, such as a URL
"/p/<patient>/notes", the event's key and the resource's id): each line keeps the evidence file and line that lead
to them.
"""

from __future__ import annotations

import json

from .result import ScopeResult
from .store import Runner, frame_scan

# the columns left out of a timeline without patients: the patient id, and log values that often embed one
MAY_NAME_A_PATIENT = ("patient_id", "action_raw", "event_key", "resource_id")


def timeline_lines(runner: Runner, result: ScopeResult, *, with_patients: bool = False) -> bytes:
    """The run's timeline as Timesketch JSON lines (bytes, deterministic)."""
    windows = result.incident.windows
    with frame_scan("event_segments", result.frames["event_segments"]):
        rows = runner.frame("timeline_events", window_starts=[w.start.isoformat() for w in windows],
                            window_ends=[w.end.isoformat() for w in windows])
    if not with_patients:
        rows = rows.drop(*MAY_NAME_A_PATIENT).unique(maintain_order=True)
    out = []
    for r in rows.iter_rows(named=True):
        target = f" on patient {r['patient_id']}" if with_patients and r.get("patient_id") else ""
        message = (f"{r['account_id']} {r['action']} {r['category']}{target} ({r['outcome']}) from "
                   f"{r['src_ip'] or 'an unlogged address'}: {r['verdict'] or 'not judged'}")
        out.append(json.dumps({"message": message, "datetime": r["datetime"], "timestamp": r["timestamp"],
                               "timestamp_desc": "Event logged", "data_type": "scoping:access_log",
                               **{k: v for k, v in r.items() if k not in ("datetime", "timestamp")}},
                              ensure_ascii=False, sort_keys=True))
    return ("\n".join(out) + ("\n" if out else "")).encode()
