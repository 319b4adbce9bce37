"""Every table and key case.toml may hold, in one place: adding a key is adding one line here.

`TABLES` maps a table's path to its keys, each with a one-line description. A path segment `*` stands for a
name the user chooses (`sources.*` is any `[sources.NAME]`); a key `*` means the table's keys are free (the raw
values of a value map, the fields a rule tests); a path ending in `[]` is an array of tables
(`[[sources.NAME.rules]]`). A key whose value is a table has its own entry (`sources.*.columns`).

`check` walks a parsed case.toml against it, before any value is read, so that a typo (`ts_fromat`) stops the
run with the table, the key and the nearest known key, instead of being ignored. `scoping init`'s template and
the README are tested against this table (tests/test_config.py).
"""

from __future__ import annotations

import difflib
from typing import Any

from .errors import ConfigError
from .schema import MAPPABLE

_COLUMNS = {c: f"the field feeding {c}" for c in MAPPABLE}

TABLES: dict[str, dict[str, str]] = {
    "": {
        "case": "settings of the case (name, memory, limits)",
        "sources": "the evidence: one [sources.NAME] per set of log files",
        "reference": "reference tables: accounts, patients, care",
        "incident": "the incident: windows, compromised accounts, indicators",
        "notify": "what the notification letters say",
        "spark": "where the Spark engine runs (master, config)",
    },
    "case": {
        "name": "the case's name in reports",
        "memory_limit": "DuckDB memory cap, e.g. \"2GB\"; larger work spills to .duckdb-tmp/",
        "max_temp_directory_size": "cap on the spill folder, e.g. \"50GB\"",
        "threads": "DuckDB threads (default: every core)",
        "session_gap_minutes": "derived sessions: same account, address and client, gap under this",
        "max_quarantined_share": "a file with a larger share of quarantined lines fails the ingest (default 0.5)",
        "max_line_bytes": "a longer line is quarantined by its first 2 KB and its length (default 16 MiB)",
        "lake": "a Parquet lake of the canonical tables (a folder, or a URI DuckDB reads): ingest writes it, "
                "every stage reads it",
        "lake_filesystem": "who reads a lake URI: duckdb (default; its extensions, e.g. httpfs for s3://) | fsspec "
                           "(the Python file system of its scheme: s3fs, gcsfs, adlfs)",
        "engine": "duckdb (default) | spark: the scans of the whole lake run on Apache Spark",
    },
    "spark": {
        "master": "local[*] (default), a cluster master, or a Spark Connect URL sc://host:15002",
        "config": "Spark settings, e.g. { \"spark.driver.memory\" = \"4g\" }; \"spark.api.mode\" = \"connect\": "
                  "Spark Connect to a local server scoping starts",
    },
    "spark.config": {"*": "a Spark setting = its value"},
    "sources": {"*": "a source: a set of files in one format and its mapping"},
    "sources.*": {
        "format": "csv | tsv | jsonl | parquet | fhir | openemr",
        "files": "file globs, relative to the case folder (each must match a file)",
        "ts_format": "iso8601 | epoch_s | epoch_ms | a strptime format",
        "timezone": "the zone of timestamps written without an offset (required then)",
        "delimiter": "CSV/TSV field delimiter",
        "quote": "CSV/TSV quote character",
        "header": "CSV/TSV: the first line names the fields (default true)",
        "column_names": "CSV/TSV without a header: the field names",
        "patient_separator": "a field listing several patients separates them with this",
        "null_values": "values meaning \"nothing here\"",
        "api_log": "OpenEMR: the api_log export joined to the log",
        "follow_symlinks": "accept matched files that are links leading outside the case folder",
        "max_quarantined_share": "this source's own threshold (overrides [case])",
        "columns": "canonical column = field of the file",
        "constants": "canonical column = fixed value",
        "expressions": "canonical column = scalar SQL over {fields}",
        "maps": "value maps: raw value = canonical value",
        "rules": "ordered rules: regular expressions over fields set or capture columns",
    },
    "sources.*.columns": _COLUMNS,
    "sources.*.constants": _COLUMNS,
    "sources.*.expressions": _COLUMNS,
    "sources.*.maps": {c: f"raw value = canonical {c}" for c in MAPPABLE},
    "sources.*.maps.*": {"*": "raw value = canonical value"},
    "sources.*.rules[]": {
        "name": "the rule's name (rule hits, patient_link)",
        "when": "field = regular expression; every one must match",
        "set": "canonical column = value, when the rule matches",
        "link": "how a patient captured by this rule was found (patient_link)",
    },
    "sources.*.rules[].when": {"*": "field = regular expression"},
    "sources.*.rules[].set": _COLUMNS,
    "reference": {
        "accounts": "account_id, practice_id, role, active_from, active_until",
        "patients": "patient_id, practice_id: one row per patient and controller",
        "care": "patient_id, practice_id or account_id, kind, start, end",
    },
    "reference.*": {
        "file": "a CSV or Parquet file",
        "columns": "canonical column = column of the file",
        "delimiter": "CSV delimiter",
        "timezone": "the zone of dates written without an offset (required then)",
    },
    "reference.accounts.columns": {c: "" for c in ("account_id", "practice_id", "role", "active_from",
                                                   "active_until")},
    "reference.patients.columns": {c: "" for c in ("patient_id", "practice_id")},
    "reference.care.columns": {c: "" for c in ("patient_id", "practice_id", "account_id", "kind", "start", "end")},
    "incident": {
        "name": "the incident's name",
        "timezone": "the zone the windows are written in",
        "windows": "half-open [start, end) pairs",
        "compromised_accounts": "the accounts the attacker used",
        "count_undetermined": "undetermined sessions count as affected (default true)",
        "baseline_days": "days before the first window that show an account's habits (default 90)",
        "usual_min_days": "different days of the baseline an address or client must be used on to be usual "
                          "(default 2)",
        "containment": "when the breach was contained",
        "indicators": "addresses and clients known to be the attacker's",
        "decisions": "an analyst's decisions on segments or sessions ([[incident.decisions]])",
    },
    "incident.indicators": {
        "ips": "addresses and CIDR ranges",
        "user_agents": "client glob patterns",
    },
    "incident.decisions[]": {
        "segment": "the segment decided (segment_key of sessions.csv)",
        "session": "or the whole session (session_key)",
        "verdict": "attacker | owner | undetermined",
        "justification": "why",
        "by": "who decided",
    },
    "notify": {
        "processor": "who runs the service that was breached",
        "contact": "whom patients contact",
        "authority": "the data protection authority",
        "measures": "what was done",
        "signature": "who signs the letters",
        "wording_dir": "the case's own wording_<lang>.toml / letter_<lang>.md",
        "contact_columns": "directory columns that reach a patient",
    },
}


def _table(path: str | tuple[str, ...]) -> tuple[str, dict[str, str]] | None:
    """The schema entry for a concrete table path (`sources.web.maps.action` → `sources.*.maps.*`); a path given as
    parts may hold names with dots (`[sources."web.v2"]`)."""
    parts = tuple(path.split(".")) if isinstance(path, str) else path
    parts = parts if parts != ("",) else ()
    joined = ".".join(parts)
    if joined in TABLES:
        return joined, TABLES[joined]
    for i in range(len(parts)):  # a name the user chose stands where the schema says *
        for j in range(i, len(parts)):
            candidate = ".".join("*" if k in (i, j) else p for k, p in enumerate(parts))
            if candidate in TABLES:
                return candidate, TABLES[candidate]
    return None


def _shown(path: tuple[str, ...]) -> str:
    if not path:
        return "the top level"
    return "[" + ".".join(p.replace("[]", "") if "." not in p else f'"{p}"' for p in path) + "]"


def _unknown(path: tuple[str, ...], key: str, known: dict[str, str]) -> ConfigError:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else f"known keys: {', '.join(sorted(known))}"
    return ConfigError(f"case.toml: unknown key {key!r} in {_shown(path)}", hint=hint)


def check(raw: dict[str, Any], path: tuple[str, ...] = ()) -> None:
    """Refuse any table or key of a parsed case.toml that the schema does not know."""
    entry = _table(path)
    if entry is None:  # pragma: no cover - a parent key's entry always exists
        raise ConfigError(f"case.toml: unknown table {_shown(path)}")
    _, known = entry
    for key, value in raw.items():
        if "*" not in known and key not in known:
            raise _unknown(path, key, known)
        child = (*path, key)
        if isinstance(value, dict):
            if _table(child) is None:
                raise ConfigError(f"case.toml: {key} in {_shown(path)} must be a value, not a table",
                                  hint=f"write {key} = ... under {_shown(path)}")
            check(value, child)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            array = (*path, key + "[]")
            if _table(array) is None:
                raise ConfigError(f"case.toml: {key} in {_shown(path)} must be a value, not tables")
            for v in value:
                check(v, array)
