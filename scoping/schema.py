"""The canonical vocabulary: actions, data categories, outcomes, exposure levels.

These names are the contract between ingest (which maps every log onto them), scope (which
ranks them) and the outputs (which print them). See DESIGN.md, "Canonical tables".
"""

from __future__ import annotations

ACTIONS = ("login", "login_failed", "logout", "search", "list", "view", "create", "update", "delete",
           "download", "print", "export", "share", "other")
CATEGORIES = ("demographics", "contact", "insurance_billing", "appointment", "clinical_note", "diagnosis",
              "prescription", "allergy", "lab_result", "imaging", "document", "vitals", "messaging",
              "full_record", "patient_list", "administrative", "other", "unknown")
OUTCOMES = ("success", "failure", "unknown")

# How far an attacker got with one patient: listed < opened < copied; `modified` is a separate flag.
LISTED = ("search", "list")
COPIED = ("download", "print", "export", "share")
MODIFIED = ("create", "update", "delete")

# Canonical event columns a mapping may feed, besides the derived ones.
MAPPABLE = ("event_key", "ts", "account_id", "session_id", "src_ip", "user_agent", "action", "action_raw",
            "category", "patient_id", "outcome", "resource_type", "resource_id")
REQUIRED = ("ts", "account_id")
