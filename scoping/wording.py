"""The wording of the notification kits: editable tables, checked before a single letter is written.

Every sentence, label, column title and value a kit shows comes from `templates/wording_<lang>.toml` and
`templates/letter_<lang>.md`; no wording stays in Python. A case can supply its own tables (`[notify] wording_dir`
in case.toml): its `wording_<lang>.toml` overrides the shipped one key by key, its `letter_<lang>.md` replaces the
letter, and a language scoping does not ship can be added by giving both, complete.

`SPEC` below is the contract: which tables exist, which keys each holds and which {placeholders} each sentence may
use. A typo (an unknown table or key, a missing key, a placeholder the sentence cannot have, a brace left open)
is a `ConfigError` naming the file, the table and the key, with the nearest right name when there is one.
"""

from __future__ import annotations

import difflib
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ConfigError
from .schema import ACTIONS, CATEGORIES, COPIED, EXPOSURES, MODIFYING, OUTCOMES

SHIPPED = ("en", "fr")
_LANG = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$")
_NUMBERS = ("year", "hour", "minute", "second")  # the placeholders filled with numbers (a day may be "1er")


def _keys(names: tuple[str, ...], *placeholders: str) -> dict[str, tuple[str, ...]]:
    return {n: placeholders for n in names}


# table → key → the placeholders its text may use
SPEC: dict[str, dict[str, tuple[str, ...]]] = {
    "time": {
        "date": ("day", "month", "year"), "first_day": (), "clock": ("hour", "minute", "second"),
        "months": (), "one_moment": ("date", "start", "zone"), "same_day": ("date", "start", "end", "zone"),
        "two_days": ("date", "start", "end_date", "end", "zone"), "same_time": (),
    },
    "grammar": {"list_separator": (), "last_separator": (), "item_separator": (), "thousands": ()},
    "letter": {
        "listed": ("when", "who", "lists"), "opened": ("when", "who"), "seen": ("categories",),
        "copied": ("when", "copies"), "copied_alone": ("when", "who", "copies"), "copy": ("verb", "categories"),
        "also_undetermined": ("when", "who"),
        "modified": ("changes",), "change": ("verb", "item", "when"), "change_many": ("verb", "item", "count", "when"),
        "not_opened": (), "refused": ("when",), "undetermined": (), "attempted": ("when",),
    },
    "who": _keys(("attacker", "undetermined")),
    "lists": _keys(("search", "list")),
    "copy_verbs": _keys(COPIED),
    "change_verbs": _keys(MODIFYING),
    "categories": _keys(CATEGORIES),      # in a letter, about the reader's own record
    "items": _keys(CATEGORIES),           # one item of that category, for a change
    "category_names": _keys(CATEGORIES),  # neutral names, for the sheets
    "actions": _keys(ACTIONS),
    "outcomes": _keys(OUTCOMES),
    "exposures": _keys((*EXPOSURES, "attempted")),
    "attribution": _keys(("attacker", "undetermined")),
    "values": {
        "yes": (), "no": (), "to_complete": (), "account": ("no",), "account_unknown": (), "none": (),
        "affected": (), "attempted": (), "missing_from_directory": (), "no_contact_details": (),
        "duplicate_in_directory": (),
    },
    "columns": {
        **_keys(("patient", "status", "exposure", "modified", "attribution", "message", "action", "category",
                 "resource_type", "resource_id", "outcome", "account", "event_key", "has_contact", "reason",
                 "accesses", "attempts")),
        **_keys(("first_access", "last_access", "time", "first_attempt", "last_attempt"), "zone"),
        "time_utc": (),
    },
    "sheets": _keys(("patients", "detail", "attempted", "no_contact")),
    "sheet": {
        "title": ("practice",), "item": ("label", "value"),
        **_keys(("controller", "nature", "dates", "patients", "accounts", "evidence", "to_complete")),
    },
    "sheet_items": _keys((
        "practice_id", "name", "siren", "address", "dpo_contact", "processor", "type", "description",
        "data_categories", "windows", "windows_utc", "first_access", "last_access", "attacker_activity",
        "undetermined_activity", "containment", "detection", "processor_notice", "affected", "listed_only",
        "opened", "copied", "modified", "attempted_only", "undetermined_only", "records", "no_contact",
        "by_category", "accounts", "method", "log_gaps", "unlisted_searches", "quarantined", "tool",
        "measures", "consequences", "patients_informed")),
    "sheet_text": {
        "confidentiality": (), "integrity": (), "description": (), "health_data": ("categories",),
        "category_count": ("name", "count"), "own_account": ("account",), "method": (),
        "activity": ("first", "last", "first_access", "last_access", "events", "patients"),
        "activity_none": (), "counted": (), "not_counted": (), "tool": ("version",),
        "gap_same_day": ("date", "start", "end", "zone"), "gap_two_days": ("date", "start", "end_date", "end", "zone"),
        "gap_quiet": ("gap",), "gap_active": ("gap", "usual"), "no_gap": (),
    },
}
LIST_KEYS = {("time", "months"): 12}
LETTER_FIELDS = ("practice_name", "today", "patient_name", "sentence", "breach_period", "processor", "contact",
                 "authority", "measures", "signature")


@dataclass(frozen=True)
class Wording:
    """The checked tables of one language, and the letter that goes with them."""

    lang: str
    tables: Mapping[str, Mapping[str, Any]]
    letter: str

    def text(self, table: str, key: str, **values: Any) -> str:
        return str(self.tables[table][key]).format(**values)

    def label(self, table: str, key: str | None, fallback: str = "other") -> str:
        """A label of a vocabulary table; a code the table does not know gets the fallback's label."""
        t = self.tables[table]
        if key is not None and key in t:
            return str(t[key])
        return str(t.get(fallback, key or ""))

    def labels(self, table: str) -> dict[str, str]:
        return {k: str(v) for k, v in self.tables[table].items()}


def _read(path: Path | Any, shown: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"wording table {shown} is not valid TOML: {exc}",
                          hint="check the quotes and brackets at that line") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"wording table {shown} cannot be read: {exc}") from exc
    return data


def _near(word: str, choices: Any) -> str:
    found = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean {found[0]!r}?" if found else f"the names it may hold: {', '.join(sorted(choices))}"


def _fields(text: str, shown: str, where: str) -> list[tuple[str, str]]:
    try:
        return [(name, spec or "") for _, name, spec, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"wording table {shown}: {where} has a brace that does not close: {exc}",
                          hint="write {{ and }} for a literal brace") from exc


def _check_text(text: str, allowed: tuple[str, ...], shown: str, where: str) -> None:
    for name, _ in _fields(text, shown, where):
        if name not in allowed:
            hint = _near(name, allowed) if allowed else "this text takes no placeholder"
            raise ConfigError(f"wording table {shown}: {where} uses the placeholder {{{name}}}, which that text "
                              f"does not have", hint=hint)
    sample = {n: (7 if n in _NUMBERS else "x") for n in allowed}
    try:
        text.format(**sample)
    except (ValueError, KeyError, IndexError) as exc:
        raise ConfigError(f"wording table {shown}: {where} cannot be filled in: {exc}",
                          hint="placeholders are written {name}, numbers of the clock may carry a format: "
                               "{minute:02d}") from exc


def _check(data: dict[str, Any], shown: str, *, complete: bool) -> None:
    for table, entries in data.items():
        if table not in SPEC:
            raise ConfigError(f"wording table {shown}: unknown table [{table}]", hint=_near(table, SPEC))
        if not isinstance(entries, dict):
            raise ConfigError(f"wording table {shown}: {table} must be a table ([{table}])")
        for key, value in entries.items():
            where = f"[{table}] {key}"
            if key not in SPEC[table]:
                raise ConfigError(f"wording table {shown}: unknown key {key!r} in [{table}]",
                                  hint=_near(key, SPEC[table]))
            size = LIST_KEYS.get((table, key))
            if size is not None:
                if not (isinstance(value, list) and len(value) == size and all(isinstance(v, str) for v in value)):
                    raise ConfigError(f"wording table {shown}: {where} must be a list of {size} texts")
                continue
            if not isinstance(value, str):
                raise ConfigError(f"wording table {shown}: {where} must be a text in quotes, not {value!r}")
            _check_text(value, SPEC[table][key], shown, where)
    if complete:
        for table, keys in SPEC.items():
            missing = [k for k in keys if k not in data.get(table, {})]
            if missing:
                raise ConfigError(f"wording table {shown}: missing key(s) in [{table}]: {', '.join(missing)}",
                                  hint="a language scoping does not ship needs every key (copy wording_en.toml)")


def check_letter(text: str, shown: str) -> None:
    for name, _ in _fields(text, shown, "the letter"):
        if name not in LETTER_FIELDS:
            raise ConfigError(f"letter template {shown} uses the placeholder {{{name}}}, which letters do not have",
                              hint=_near(name, LETTER_FIELDS))


def _shipped(name: str) -> Any:
    return resources.files("scoping") / "templates" / name


def languages(case_dir: Path | None = None) -> tuple[str, ...]:
    """The languages a kit can be written in: the shipped ones and those the case adds."""
    found = set(SHIPPED)
    if case_dir is not None and case_dir.is_dir():
        found |= {p.stem.removeprefix("wording_") for p in case_dir.glob("wording_*.toml")}
    return tuple(sorted(found))


def load(lang: str, *, case_dir: Path | None = None, shown_dir: str = "wording") -> Wording:
    """The wording of `lang`: the shipped tables, overridden key by key by the case's own (in `case_dir`)."""
    if not _LANG.match(lang):
        raise ConfigError(f"{lang!r} is not a language code", hint="use a code such as fr or en")
    if case_dir is not None and not case_dir.is_dir():
        raise ConfigError(f"the wording folder {shown_dir} named in case.toml [notify] wording_dir does not exist",
                          hint="create it (with wording_<lang>.toml and letter_<lang>.md) or remove the key")
    own = case_dir / f"wording_{lang}.toml" if case_dir is not None else None
    own_letter = case_dir / f"letter_{lang}.md" if case_dir is not None else None
    has_own = own is not None and own.is_file()
    has_letter = own_letter is not None and own_letter.is_file()
    if lang not in SHIPPED and not has_own:
        raise ConfigError(f"no wording for language {lang!r}",
                          hint=f"use one of {', '.join(languages(case_dir))}, or add wording_{lang}.toml and "
                               f"letter_{lang}.md to the case's wording folder")
    tables: dict[str, dict[str, Any]] = {}
    if lang in SHIPPED:
        shipped = _read(_shipped(f"wording_{lang}.toml"), f"scoping/templates/wording_{lang}.toml")
        _check(shipped, f"scoping/templates/wording_{lang}.toml", complete=True)
        tables = {t: dict(v) for t, v in shipped.items()}
    if own is not None and has_own:
        shown = f"{shown_dir}/wording_{lang}.toml"
        data = _read(own, shown)
        _check(data, shown, complete=lang not in SHIPPED)
        for table, entries in data.items():
            tables.setdefault(table, {}).update(entries)
    if own_letter is not None and has_letter:
        letter, shown_letter = own_letter.read_text(encoding="utf-8"), f"{shown_dir}/letter_{lang}.md"
    elif lang in SHIPPED:
        letter = _shipped(f"letter_{lang}.md").read_text(encoding="utf-8")
        shown_letter = f"scoping/templates/letter_{lang}.md"
    else:
        raise ConfigError(f"no letter for language {lang!r}", hint=f"add letter_{lang}.md to {shown_dir}")
    check_letter(letter, shown_letter)
    frozen = {t: MappingProxyType(v) for t, v in tables.items()}
    return Wording(lang=lang, tables=MappingProxyType(frozen), letter=letter)
