"""The wording of the notification kits: editable tables, checked before a single letter is written.

Every sentence, label, column title and value a kit shows comes from `templates/wording_<lang>.toml` and
`templates/letter_<lang>.md`; no wording stays in Python. A case can supply its own tables (`[notify] wording_dir`
in case.toml): its `wording_<lang>.toml` overrides the shipped one key by key, its `letter_<lang>.md` replaces the
letter, and a language scoping does not ship can be added by giving both, complete. A language code has one
normal form (`pt-BR`, see `normal_lang`): `pt_BR` or `pt-br` is read as `pt-BR`, and the case's files may be named
either way (`wording_pt_BR.toml` or `wording_pt-BR.toml`).

`SPEC` below is the contract: which tables exist, which keys each holds and which {placeholders} each sentence may
use. A typo (an unknown table or key, a missing key, a placeholder the sentence cannot have, a brace left open, a
conversion or format a value cannot take, a file that is not UTF-8) is a `ConfigError` naming the file, the table
and the key, with the nearest right name when there is one; a letter template is checked the same way.
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
# a language code: fr, en, pt-BR; written pt_BR or pt-br too, always read in its normal form pt-BR
_LANG = re.compile(r"^([A-Za-z]{2,3})(?:[_-]([A-Za-z]{2,4}))?$")
_NUMBERS = ("year", "hour", "minute", "second", "no")  # the placeholders filled with numbers (a day may be "1er")
_CONVERSIONS = ("s", "r", "a")


def _keys(names: tuple[str, ...], *placeholders: str) -> dict[str, tuple[str, ...]]:
    return {n: placeholders for n in names}


# table → key → the placeholders its text may use
SPEC: dict[str, dict[str, tuple[str, ...]]] = {
    "time": {
        "date": ("day", "month", "year"), "first_day": (), "clock": ("hour", "minute", "second"),
        "months": (), "one_moment": ("date", "start", "zone"), "same_day": ("date", "start", "end", "zone"),
        "two_days": ("date", "start", "end_date", "end", "zone"), "same_time": (),
        "ambiguous": ("clock", "season", "offset", "zone"), "summer_time": (), "winter_time": (),
        "one_moment_dst": ("date", "start"), "same_day_dst": ("date", "start", "end"),
        "two_days_dst": ("date", "start", "end_date", "end"),
    },
    "grammar": {"list_separator": (), "last_separator": (), "item_separator": (), "thousands": ()},
    "letter": {
        "listed": ("when", "who", "lists"), "opened": ("when", "who"), "seen": ("categories",),
        "copied": ("when", "copies"), "copied_alone": ("when", "who", "copies"), "copy": ("verb", "categories"),
        "also_undetermined": ("when", "who"), "also_seen": ("categories",), "also_copied": ("when", "copies"),
        "modified": ("changes",), "also_modified": ("changes",), "list_modified": ("changes",),
        "outcome_unknown": ("when",),
        "change": ("verb", "item", "when"),
        "change_many": ("verb", "item", "count", "when"), "not_opened": (), "refused": ("when",),
        "undetermined": (), "undetermined_other": (), "attempted": ("when",), "attempted_undetermined": ("when",),
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
        "gap_same_day_dst": ("date", "start", "end"), "gap_two_days_dst": ("date", "start", "end_date", "end"),
        "gap_quiet": ("gap",), "gap_active": ("gap", "usual"), "no_gap": (),
    },
}
LIST_KEYS = {("time", "months"): 12}
# the forms of a time phrase without its own zone, for a phrase whose times say theirs ("02:10 (Paris winter time,
# UTC+1)"): optional; a table that overrides a phrase, or writes `ambiguous` without {zone}, without giving them
# keeps the phrase with its zone (the two never mix, and the zone is never lost)
DST_FORMS = {("time", "one_moment"), ("time", "same_day"), ("time", "two_days"), ("sheet_text", "gap_same_day"),
             ("sheet_text", "gap_two_days")}
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


def _fields(text: str, at: str) -> list[tuple[str, str, str | None]]:
    """Every placeholder of a text as (name, format spec, conversion), those nested in a format spec included."""
    try:
        found = [(name, spec or "", conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"{at} has a brace that does not close: {exc}",
                          hint="write {{ and }} for a literal brace") from exc
    return found + [inner for _, spec, _ in found if "{" in spec for inner in _fields(spec, at)]


def _check_format(text: str, sample: Mapping[str, Any], at: str) -> None:
    """Every placeholder of `text` (at: the file and key, for the message) is one `sample` names, written {name},
    {name:spec} or {name!s}, and the text can be filled in with values like the real ones: a conversion or format
    that does not fit is caught here, never in the middle of a kit."""
    for name, spec, conv in _fields(text, at):
        shown = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
        if name not in sample:
            raise ConfigError(f"{at} uses the placeholder {{{name}}}, which that text does not have",
                              hint=_near(name, sample) if sample else "this text takes no placeholder")
        problem = None
        if conv is not None and conv not in _CONVERSIONS:
            problem = f"unknown conversion !{conv}"
        elif "{" in spec:
            problem = "a placeholder inside a format"
        else:
            try:
                format(sample[name], spec)
            except (ValueError, TypeError) as exc:
                problem = str(exc)
        if problem:
            raise ConfigError(f"{at} cannot be filled in: the placeholder {shown} ({problem})",
                              hint=f"write {{{name}}}; numbers of the clock may carry a format: {{minute:02d}}")
    try:
        text.format(**sample)
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
        raise ConfigError(f"{at} cannot be filled in: {exc}",
                          hint="placeholders are written {name}, numbers of the clock may carry a format: "
                               "{minute:02d}") from exc


def _check_text(text: str, allowed: tuple[str, ...], shown: str, where: str) -> None:
    _check_format(text, {n: (7 if n in _NUMBERS else "x") for n in allowed}, f"wording table {shown}: {where}")


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
        optional = {f"{key}_dst" for _, key in DST_FORMS}
        for table, keys in SPEC.items():
            missing = [k for k in keys if k not in data.get(table, {}) and k not in optional]
            if missing:
                raise ConfigError(f"wording table {shown}: missing key(s) in [{table}]: {', '.join(missing)}",
                                  hint="a language scoping does not ship needs every key (copy wording_en.toml)")


def check_letter(text: str, shown: str) -> None:
    """A letter's placeholders, their conversions and formats: a case's own letter fails here, never mid-kit."""
    _check_format(text, dict.fromkeys(LETTER_FIELDS, "x"), f"letter template {shown}")


def _shipped(name: str) -> Any:
    return resources.files("scoping") / "templates" / name


def normal_lang(code: str) -> str:
    """A language code in its one normal form: `pt_BR`, `pt-br` and `pt-BR` are all `pt-BR`; `FR` is `fr`."""
    m = _LANG.match(code)
    if not m:
        raise ConfigError(f"{code!r} is not a language code",
                          hint="use a code such as fr, en or pt-BR (pt_BR is read as pt-BR)")
    lang, sub = m.group(1).lower(), m.group(2)
    if sub is None:
        return lang
    return f"{lang}-{sub.upper() if len(sub) == 2 else sub.title() if len(sub) == 4 else sub.lower()}"


def _own_files(case_dir: Path | None, kind: str, suffix: str) -> dict[str, Path]:
    """The case's files of one kind (`wording`, `letter`) by normal language code, named either way (pt_BR or
    pt-BR); two files for one language are an error."""
    found: dict[str, Path] = {}
    if case_dir is None or not case_dir.is_dir():
        return found
    for path in sorted(case_dir.glob(f"{kind}_*{suffix}")):
        code = path.name[len(kind) + 1:-len(suffix)]
        if not _LANG.match(code):
            continue
        lang = normal_lang(code)
        if lang in found:
            raise ConfigError(f"two {kind} files for language {lang}: {found[lang].name} and {path.name}",
                              hint="keep one of them")
        found[lang] = path
    return found


def languages(case_dir: Path | None = None) -> tuple[str, ...]:
    """The languages a kit can be written in (normal codes): the shipped ones and those the case adds."""
    return tuple(sorted(set(SHIPPED) | set(_own_files(case_dir, "wording", ".toml"))))


def _read_letter(path: Path | Any, shown: str) -> str:
    try:
        text: str = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"letter template {shown} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at position "
                          f"{exc.start})", hint="save it as UTF-8 (a choice of every editor's Save As)") from exc
    except OSError as exc:
        raise ConfigError(f"letter template {shown} cannot be read: {exc}") from exc
    return text


def _keep_zones(tables: dict[str, dict[str, Any]], own: dict[str, Any]) -> None:
    """Drop the `_dst` forms a case's table leaves as shipped beside a phrase it rewrites, and all of them when its
    `ambiguous` does not name the zone: the phrase is then said with its own zone."""
    zone_said = "{zone" in str(tables.get("time", {}).get("ambiguous", ""))
    for table, key in DST_FORMS:
        mine = own.get(table, {})
        if not zone_said or (key in mine and f"{key}_dst" not in mine):
            tables.get(table, {}).pop(f"{key}_dst", None)


def load(lang: str, *, case_dir: Path | None = None, shown_dir: str = "wording") -> Wording:
    """The wording of `lang` (any spelling of its code, see `normal_lang`): the shipped tables, overridden key by
    key by the case's own (in `case_dir`, files named wording_pt-BR.toml or wording_pt_BR.toml)."""
    lang = normal_lang(lang)
    if case_dir is not None and not case_dir.is_dir():
        raise ConfigError(f"the wording folder {shown_dir} named in case.toml [notify] wording_dir does not exist",
                          hint="create it (with wording_<lang>.toml and letter_<lang>.md) or remove the key")
    own = _own_files(case_dir, "wording", ".toml").get(lang)
    own_letter = _own_files(case_dir, "letter", ".md").get(lang)
    if lang not in SHIPPED and own is None:
        raise ConfigError(f"no wording for language {lang!r}",
                          hint=f"use one of {', '.join(languages(case_dir))}, or add wording_{lang}.toml and "
                               f"letter_{lang}.md to the case's wording folder")
    tables: dict[str, dict[str, Any]] = {}
    if lang in SHIPPED:
        shipped = _read(_shipped(f"wording_{lang}.toml"), f"scoping/templates/wording_{lang}.toml")
        _check(shipped, f"scoping/templates/wording_{lang}.toml", complete=True)
        tables = {t: dict(v) for t, v in shipped.items()}
    if own is not None:
        shown = f"{shown_dir}/{own.name}"
        data = _read(own, shown)
        _check(data, shown, complete=lang not in SHIPPED)
        for table, entries in data.items():
            tables.setdefault(table, {}).update(entries)
        _keep_zones(tables, data)
    if own_letter is not None:
        shown_letter = f"{shown_dir}/{own_letter.name}"
        letter = _read_letter(own_letter, shown_letter)
    elif lang in SHIPPED:
        shown_letter = f"scoping/templates/letter_{lang}.md"
        letter = _read_letter(_shipped(f"letter_{lang}.md"), shown_letter)
    else:
        raise ConfigError(f"no letter for language {lang!r}", hint=f"add letter_{lang}.md to {shown_dir}")
    check_letter(letter, shown_letter)
    frozen = {t: MappingProxyType(v) for t, v in tables.items()}
    return Wording(lang=lang, tables=MappingProxyType(frozen), letter=letter)
