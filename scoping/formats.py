"""Standard audit formats that need no mapping: FHIR AuditEvent (R4, R5, R6 drafts; IHE BALP) and OpenEMR.

- FHIR: NDJSON (a bulk export, one resource per line, gzip or not) goes through the ordinary line reader;
  a JSON document (a Bundle or a single resource, pretty-printed) is split here into one record per
  entry, numbered by its position in the Bundle. The mapping itself is `sql/format_fhir_auditevent.sql`.
- OpenEMR: the `log` table exported to CSV, with its real column names, mapped by a fixed source
  definition (below) as AUDIT-LOGS.md section 6.4 describes, and the `api_log` export joined on log_id
  (`sql/format_openemr_api_join.sql`). OpenEMR's caveats are kept visible: times carry no zone (the
  case must name one), `patient_id` of `patient-record-*` events is the chart open in the session
  (patient_link `openemr:session_context`), and 0 means no patient.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from .config import Rule, Source
from .readers import (
    BLOCK_BYTES,
    DEFAULT_MAX_LINE_BYTES,
    PREFIX_BYTES,
    SCHEMA,
    Progress,
    ReadResult,
    lines_table,
    stream_lines,
    with_lines,
)

_HEAD_BYTES = 32 * BLOCK_BYTES

OPENEMR_CATEGORIES = (
    ("Patient Demographics", "demographics"), ("Patient Insurance", "insurance_billing"),
    ("Billing", "insurance_billing"), ("Encounter Form", "clinical_note"), ("Problem List", "diagnosis"),
    ("Medication", "prescription"), ("Allergy", "allergy"), ("Immunization", "other"), ("Vitals", "vitals"),
    ("Lab Order", "lab_result"), ("Lab Result", "lab_result"), ("Clinical Mail", "messaging"),
    ("Referral", "document"), ("Scheduling", "appointment"), ("Security", "administrative"),
    ("Social and Family History", "clinical_note"), ("Amendments", "clinical_note"),
)
_PID = r"^(?P<patient_id>[1-9][0-9]*)$"


def _rule(name: str, link: str | None = None, **kw: str) -> Rule:
    sets = tuple((k[4:], v) for k, v in kw.items() if k.startswith("set_"))
    when = tuple((k[5:], v) for k, v in kw.items() if k.startswith("when_"))
    return Rule(name=name, when=when, set=sets, link=link)


OPENEMR_RULES = (
    _rule("chart opened", "openemr:explicit_column", when_event="^view$", when_patient_id=_PID,
          set_action="view", set_category="full_record"),
    _rule("patient record read", "openemr:session_context", when_event="^patient-record-select$",
          when_patient_id=_PID, set_action="view"),
    _rule("patient record written", "openemr:session_context",
          when_event="^patient-record-(insert|create|update|replace|delete)$", when_patient_id=_PID),
    _rule("read", when_event="-select$", set_action="view"),
    _rule("create", when_event="-(insert|create)$", set_action="create"),
    _rule("update", when_event="-(update|replace)$", set_action="update"),
    _rule("delete", when_event="(-delete|^delete)$", set_action="delete"),
    _rule("failed login", when_event="^login", when_success="^0$", set_action="login_failed",
          set_category="administrative"),
    _rule("login", when_event="^login", set_action="login", set_category="administrative"),
    _rule("logout", when_event="^logout", set_action="logout", set_category="administrative"),
    _rule("security administration", when_event="^security-administration", set_category="administrative"),
    _rule("disclosure", when_event="^disclosure", set_action="share"),
    _rule("failure", when_success="^0$", set_outcome="failure"),
    _rule("success", when_success="^1$", set_outcome="success"),
)


def openemr_source(src: Source) -> Source:
    """The fixed mapping of an OpenEMR `log` export (real column names) onto the canonical columns."""
    return Source(
        name=src.name, format="csv", files=src.files,
        columns=(("event_key", "id"), ("ts", "date"), ("account_id", "user"), ("patient_id", "patient_id"),
                 ("category", "category"), ("action_raw", "event")),
        maps=(("category", OPENEMR_CATEGORIES),), rules=OPENEMR_RULES, ts_format="%Y-%m-%d %H:%M:%S",
        timezone=src.timezone, delimiter=src.delimiter, quote=src.quote, header=True,
        null_values=("", "0", "NULL", "\\N"), api_log=src.api_log)


def _is_document(path: Path) -> bool:
    """A FHIR JSON document (Bundle or one resource) rather than NDJSON: its first line is not a whole object,
    or it is a single line holding a Bundle."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, _HEAD_BYTES)
        except zlib.error:
            return False
    first, _, rest = head.lstrip().partition(b"\n")
    try:
        obj = json.loads(first)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return head.lstrip().startswith(b"{")
    return isinstance(obj, dict) and obj.get("resourceType") == "Bundle" and not rest.strip()


def _document(path: Path, limit: int) -> tuple[bytes, int | None, str | None]:
    """The whole document (inflated if gzip), or its first bytes and its size when it is larger than `limit`;
    plus why it ended early. Never more than `limit` bytes in memory."""
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
        if not data.startswith(b"\x1f\x8b"):
            if len(data) <= limit:
                return data, None, None
            return data[:PREFIX_BYTES], path.stat().st_size, None
        d = zlib.decompressobj(wbits=31)
        kept: list[bytes] = []
        size = 0
        try:
            while data:
                while True:
                    out = d.decompress(data, BLOCK_BYTES)
                    size += len(out)
                    if size <= limit:
                        kept.append(out)
                    elif sum(map(len, kept)) < PREFIX_BYTES:
                        kept.append(out[:PREFIX_BYTES])
                    data = d.unconsumed_tail
                    if d.eof or (not data and len(out) < BLOCK_BYTES):
                        break
                if d.eof:
                    break
                data = fh.read(BLOCK_BYTES)
        except zlib.error as exc:
            return b"".join(kept)[:PREFIX_BYTES], None, f"compressed stream is corrupt ({exc})"
        whole = b"".join(kept)
        if size > limit:
            return whole[:PREFIX_BYTES], size, None
        return whole, None, None if d.eof else "the gzip stream ends before its end marker"


def read_fhir(path: Path, progress: Progress, *, on_batch: Callable[[], None], batch_lines: int,
              max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, limit: int | None = None) -> ReadResult:
    """Hand a FHIR file's records to `on_batch` as `staging_lines`: NDJSON line by line, a document entry by entry.

    A document (a Bundle) is parsed whole, so it is bounded like a line: one larger than `max_line_bytes` is one
    quarantined record (its first bytes and its size)."""
    if not _is_document(path):
        return stream_lines(path, progress, on_batch=on_batch, batch_lines=batch_lines,
                            max_line_bytes=max_line_bytes, limit=limit)
    data, oversize, damaged = _document(path, max_line_bytes)
    if oversize is not None or damaged is not None:
        table = pa.table([pa.array([1], pa.int64()), pa.nulls(1, pa.int64()), pa.array([data], pa.large_binary()),
                          pa.array([oversize], pa.int64())], schema=SCHEMA)
        with_lines(table, on_batch)
        return ReadResult(1, damaged)
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        with_lines(lines_table(1, [data[:4096]]), on_batch)  # one quarantined record, its first bytes kept
        return ReadResult(1, None)
    if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
        records = [json.dumps(e.get("resource", e) if isinstance(e, dict) else e, ensure_ascii=False).encode()
                   for e in doc.get("entry") or []]
    else:
        records = [json.dumps(doc, ensure_ascii=False).encode()]
    if limit is not None:
        records = records[:limit]
    with_lines(lines_table(1, records), on_batch)
    progress.update(len(records), final=True)
    return ReadResult(len(records), None)
