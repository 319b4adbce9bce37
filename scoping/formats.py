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

from .config import Rule, Source
from .readers import CHUNK_BYTES, Progress, ReadResult, lines_table, stream_lines, with_lines

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
        head = fh.read(CHUNK_BYTES)
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, CHUNK_BYTES)
        except zlib.error:
            return False
    first, _, rest = head.lstrip().partition(b"\n")
    try:
        obj = json.loads(first)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return head.lstrip().startswith(b"{")
    return isinstance(obj, dict) and obj.get("resourceType") == "Bundle" and not rest.strip()


def read_fhir(path: Path, progress: Progress, *,
              on_batch: Callable[[], None], batch_lines: int) -> ReadResult:
    """Hand a FHIR file's records to `on_batch` as `staging_lines`: NDJSON line by line, a document entry by entry."""
    if not _is_document(path):
        return stream_lines(path, progress, on_batch=on_batch, batch_lines=batch_lines)
    data = path.read_bytes()
    if data.startswith(b"\x1f\x8b"):
        try:
            data = zlib.decompress(data, wbits=31)
        except zlib.error as exc:
            with_lines(lines_table(1, [data[:2048]]), on_batch)
            return ReadResult(1, f"compressed stream is corrupt ({exc})")
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
    with_lines(lines_table(1, records), on_batch)
    progress.update(len(records), final=True)
    return ReadResult(len(records), None)
