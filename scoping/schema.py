"""The canonical vocabulary, defined once: actions, data categories, outcomes, the exposure ladder, verdicts.

These names are the contract between ingest (which maps every log onto them), scope (which ranks them, through
the `action_vocabulary` table built from this module at every connection), the wording of the letters and the
benchmark's alternative implementations. See DESIGN.md, "Canonical tables".
"""

from __future__ import annotations

ACTIONS = ("login", "login_failed", "logout", "search", "list", "view", "create", "update", "delete",
           "download", "print", "export", "share", "other")
CATEGORIES = ("demographics", "contact", "insurance_billing", "appointment", "clinical_note", "diagnosis",
              "prescription", "allergy", "lab_result", "imaging", "document", "vitals", "messaging",
              "full_record", "patient_list", "administrative", "other", "unknown")
OUTCOMES = ("success", "failure", "unknown")

# How far an attacker got with one patient, lowest first; `modified` is a separate flag.
EXPOSURES = ("listed", "opened", "copied")
# The exposure each action gives a patient it names (None: the action touches no record: authentication).
ACTION_EXPOSURE: dict[str, str | None] = {
    "login": None, "login_failed": None, "logout": None,
    "search": "listed", "list": "listed",
    "view": "opened", "other": "opened", "create": "opened", "update": "opened", "delete": "opened",
    "download": "copied", "print": "copied", "export": "copied", "share": "copied",
}
# A list of patients shown (search results, a patient list) gives at most `listed`, unless it was copied.
LIST_CATEGORY = "patient_list"
MODIFYING = ("create", "update", "delete")

LISTED = tuple(a for a, e in ACTION_EXPOSURE.items() if e == "listed")
COPIED = tuple(a for a, e in ACTION_EXPOSURE.items() if e == "copied")
MODIFIED = MODIFYING
AUTHENTICATION = tuple(a for a, e in ACTION_EXPOSURE.items() if e is None)

# How a segment of a compromised account's session is judged (scope_segments.sql says why).
VERDICTS = ("attacker", "undetermined", "owner")
# What an analyst's decision may rule: a verdict, or `excluded`, a segment left out of the lists without saying who
# acted (the security team's own test, an audit run from the account): never counted, shown with its justification.
DECISIONS = (*VERDICTS, "excluded")

# Canonical event columns a mapping may feed, besides the derived ones.
MAPPABLE = ("event_key", "ts", "account_id", "session_id", "src_ip", "user_agent", "action", "action_raw",
            "category", "patient_id", "outcome", "resource_type", "resource_id")
REQUIRED = ("ts", "account_id")

assert set(ACTION_EXPOSURE) == set(ACTIONS)


def vocabulary_parameters() -> dict[str, object]:
    """The values `store_vocabulary.sql` binds: the one place SQL reads the ladder from."""
    return {"actions": list(ACTION_EXPOSURE), "exposures": list(ACTION_EXPOSURE.values()),
            "ladder": list(EXPOSURES), "modifying": list(MODIFYING)}
