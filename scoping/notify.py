"""Notification kits: what each practice sends, patient by patient, in plain words, and files with its regulator.

For each practice (data controller), `out/notify/<practice>/` holds:
- `letters.csv` (UTF-8, comma) and `letters_excel.csv` (';' and a byte-order mark, for French Excel) and
  `letters.xlsx`: one row per affected patient, with one or two sentences saying what happened to that
  record, times in the practice's local time; contact details only if the practice supplies a directory;
- `attempted.csv`: patients only attempted (never reached), with their own wording;
- `letter_template_<lang>.md` (editable, with placeholders) and `example_letter_<lang>.md` (first patient);
- `summary.md` and `summary.json`: the practice's regulator sheet (GDPR Art. 33 / CNIL), with the fields
  the practice must complete itself marked as such.
The wording lives in `scoping/templates/wording_<lang>.toml`: one table from exposure and data category to
sentence, editable without touching code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from .errors import ConfigError, InputError
from .result import ScopeResult
from .writers import Sheet, csv_bytes, json_bytes, xlsx_bytes

LANGS = ("fr", "en")
TO_COMPLETE = {"fr": "[À COMPLÉTER PAR LE CABINET]", "en": "[TO BE COMPLETED BY THE PRACTICE]"}
COPY_ACTIONS = ("download", "print", "export", "share")
SECTION_TITLES = {
    "en": {"controller": "Data controller (the practice)", "nature": "Nature of the breach", "dates": "Dates",
           "patients": "Patients concerned", "accounts": "Accounts involved",
           "evidence": "What the logs show and do not show", "to_complete": "To be completed by the practice"},
    "fr": {"controller": "Responsable de traitement (le cabinet)", "nature": "Nature de la violation",
           "dates": "Dates", "patients": "Patients concernés", "accounts": "Comptes utilisés",
           "evidence": "Ce que les journaux montrent et ne montrent pas",
           "to_complete": "À compléter par le cabinet"},
}


def wording(lang: str) -> dict[str, Any]:
    if lang not in LANGS:
        raise ConfigError(f"unknown language {lang!r}", hint=f"use one of {', '.join(LANGS)}")
    text = (resources.files("scoping") / "templates" / f"wording_{lang}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def template(lang: str) -> str:
    return (resources.files("scoping") / "templates" / f"letter_{lang}.md").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Phrasing:
    """Turns one patient's row into sentences, in one language and one time zone."""

    words: dict[str, Any]
    tz: str

    @property
    def zone(self) -> str:
        return self.tz.split("/")[-1].replace("_", " ")

    def _date(self, t: datetime) -> str:
        w = self.words["time"]
        return str(w["date"].format(day=t.day, month=w["months"][t.month - 1], year=t.year))

    def _clock(self, t: datetime) -> str:
        return str(self.words["time"]["clock"].format(hour=t.hour, minute=t.minute))

    def moment(self, iso_utc: str) -> str:
        t = datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(ZoneInfo(self.tz))
        return f"{self._date(t)} {self._clock(t)}"

    def when(self, first_utc: str, last_utc: str) -> str:
        z = ZoneInfo(self.tz)
        a = datetime.fromisoformat(first_utc).astimezone(z)
        b = datetime.fromisoformat(last_utc).astimezone(z)
        w = self.words["time"]
        if a.date() != b.date():
            return str(w["two_days"].format(date=self._date(a), start=self._clock(a), end_date=self._date(b),
                                            end=self._clock(b), zone=self.zone))
        if (a.hour, a.minute) == (b.hour, b.minute):
            return str(w["one_moment"].format(date=self._date(a), start=self._clock(a), zone=self.zone))
        return str(w["same_day"].format(date=self._date(a), start=self._clock(a), end=self._clock(b), zone=self.zone))

    def _join(self, items: list[str], table: str) -> str:
        t = self.words[table]
        if len(items) <= 1:
            return "".join(items)
        return str(t["joiner"].join(items[:-1]) + t.get("last_joiner", t["joiner"]) + items[-1])

    def categories(self, cats: str | None) -> str:
        names = [c for c in (cats or "unknown").split("|") if c]
        if len(names) > 1 and "patient_list" in names:
            names.remove("patient_list")
        table = self.words["categories"]
        return self._join([str(table.get(c, table["other"])) for c in names], "categories")

    def sentence(self, row: dict[str, Any]) -> str:
        exposure = self.words["exposure"]
        when = self.when(row["first_access_utc"], row["last_access_utc"])
        level = row["exposure"]
        verbs = [str(self.words["copy_verbs"][a]) for a in COPY_ACTIONS if a in (row["actions"] or "").split("|")]
        text = str(exposure[level].format(when=when, categories=self.categories(row["categories"]),
                                          copy_verbs=self._join(verbs, "copy_verbs")))
        if str(row["modified"]).lower() == "true":
            text += " " + str(self.words["modified"]["sentence"])
        return text

    def attempted(self, row: dict[str, Any]) -> str:
        when = self.when(row["first_attempt_utc"], row["last_attempt_utc"])
        return str(self.words["exposure"]["attempted"].format(when=when))


def read_directory(path: Path) -> pl.DataFrame:
    """A practice's patient directory (CSV with a patient_id column and contact details), read as text."""
    if not path.is_file():
        raise InputError(f"patient directory {path} not found", hint="give a CSV with a patient_id column")
    try:
        df = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"patient directory {path} cannot be read: {exc}") from exc
    if "patient_id" not in df.columns:
        raise InputError(f"patient directory {path} has no patient_id column", hint=f"its columns: {df.columns}")
    return df.unique("patient_id", keep="first", maintain_order=True)


def _xlsx(sheets: dict[str, pl.DataFrame]) -> bytes:
    return xlsx_bytes([Sheet(name, df) for name, df in sheets.items()])


def _settings(raw: dict[str, Any], lang: str) -> dict[str, str]:
    todo = TO_COMPLETE[lang]
    return {k: str(raw.get(k, todo)) for k in ("processor", "contact", "authority", "measures", "signature")}


def _sheet_md(sheet: dict[str, Any], lang: str) -> str:
    todo = TO_COMPLETE[lang]
    lines = [f"# {'Fiche de notification de violation' if lang == 'fr' else 'Breach notification sheet'}: "
             f"{sheet['controller']['practice_id']}", ""]

    def section(title: str, items: dict[str, Any]) -> None:
        lines.append(f"## {title}")
        for k, v in items.items():
            shown = v if not isinstance(v, list | dict) else (", ".join(map(str, v)) if isinstance(v, list) else
                                                             "; ".join(f"{a}: {b}" for a, b in v.items()))
            lines.append(f"- **{k}**: {shown if shown not in (None, '') else todo}")
        lines.append("")

    for key in ("controller", "nature", "dates", "patients", "accounts", "evidence", "to_complete"):
        section(SECTION_TITLES[lang][key], sheet[key])
    return "\n".join(lines) + "\n"


def _regulator_sheet(result: ScopeResult, practice: str, mine: pl.DataFrame, attempted: pl.DataFrame,
                     lang: str) -> dict[str, Any]:
    s, inc = result.summary, result.summary["incident"]
    todo = TO_COMPLETE[lang]
    cats: dict[str, int] = {}
    for value in mine["categories"].to_list():
        for c in (value or "").split("|"):
            cats[c] = cats.get(c, 0) + 1
    accounts = sorted({a for v in mine["accounts"].to_list() for a in (v or "").split("|") if a})
    modified = int(mine["modified"].cast(pl.String).str.to_lowercase().eq("true").sum())
    return {
        "controller": {"practice_id": practice, "name": todo, "siren": todo, "address": todo,
                       "dpo_contact": todo},
        "nature": {
            "type": ["confidentiality"] + (["integrity"] if modified else []),
            "description": "unauthorised access to medical records through accounts of the service "
                           "(valid credentials used by someone other than their holder)",
            "data_categories": "health data (GDPR Art. 9): " + ", ".join(sorted(c for c in cats if c)),
        },
        "dates": {
            "breach_windows_utc": [f"{a} → {b}" for a, b in inc["windows_utc"]],
            "breach_windows_local": [f"{a} → {b}" for a, b in inc["windows_local"]],
            "first_access_to_this_practice_utc": min(mine["first_access_utc"].to_list(), default=None),
            "last_access_to_this_practice_utc": max(mine["last_access_utc"].to_list(), default=None),
            "containment_utc": inc.get("containment_utc") or todo,
            "detection": todo, "processor_notice_received": todo,
        },
        "patients": {
            "affected": mine.height,
            "listed_only": int((mine["exposure"] == "listed").sum()),
            "record_opened": int((mine["exposure"] == "opened").sum()),
            "copy_taken": int((mine["exposure"] == "copied").sum()),
            "record_modified": modified,
            "attempted_only": attempted.height,
            "by_data_category": dict(sorted(cats.items())),
            "attributed_only_to_undetermined_sessions": int((mine["attribution"] == "undetermined").sum()),
        },
        "accounts": {"compromised_accounts_that_reached_these_patients": accounts},
        "evidence": {
            "method": "scoping: access logs of the service, sessions attributed per account, every access of "
                      "an attacker or undetermined session inside the windows counted",
            "hours_of_the_windows_without_any_log": [f"{g['start_utc']} → {g['end_utc']}" for g in s["log_gaps"]],
            "searches_or_exports_without_a_recorded_patient_list": sum(
                r["events"] for r in s["searches_without_patient_list"]),
            "quarantined_log_lines": s["data_quality"]["quarantined"],
            "tool": f"scoping {s['tool']['version']}; manifest: out/manifest.json",
        },
        "to_complete": {"measures_taken": todo, "likely_consequences": todo, "patients_informed_how_and_when": todo,
                        "dpo_contact": todo},
    }


def kit_files(result: ScopeResult, *, lang: str = "fr", practices: list[str] | None = None,
              directory: pl.DataFrame | None = None, include_attempted: bool = False,
              settings: dict[str, Any] | None = None) -> dict[str, dict[str, bytes]]:
    """One kit per practice (or the named ones): practice file name → {path under the output folder: bytes}."""
    phr = Phrasing(wording(lang), result.incident.timezone)
    contacts = directory
    affected, attempted = result.affected, result.attempted
    chosen = sorted(set(affected["practice_id"].drop_nulls()) | set(attempted["practice_id"].drop_nulls()))
    if practices:
        unknown = sorted(set(practices) - set(chosen))
        if unknown:
            raise ConfigError(f"no affected or attempted patient for practice(s) {', '.join(unknown)}")
        chosen = [p for p in chosen if p in practices]
    texts = _settings(settings or {}, lang)
    kits: dict[str, dict[str, bytes]] = {}
    for practice in chosen:
        name = result.practice_files[practice]
        rel = f"notify/{lang}/{name}"
        written: dict[str, bytes] = {}
        kits[name] = written
        mine = affected.filter(pl.col("practice_id") == practice)
        tried = attempted.filter(pl.col("practice_id") == practice)
        letters = mine.with_columns(
            pl.Series("message", [phr.sentence(r) for r in mine.iter_rows(named=True)], dtype=pl.String),
            pl.lit("affected").alias("status"))
        tried_rows = tried.with_columns(
            pl.Series("message", [phr.attempted(r) for r in tried.iter_rows(named=True)], dtype=pl.String),
            pl.lit("attempted").alias("status"))
        cols = ["patient_id", "status", "exposure", "modified", "first_access_utc", "last_access_utc", "message"]
        table = letters.select(cols)
        attempted_table = tried_rows.select("patient_id", "status", pl.col("first_attempt_utc"),
                                            pl.col("last_attempt_utc"), "message")
        if include_attempted:
            table = pl.concat([table, attempted_table.rename({"first_attempt_utc": "first_access_utc",
                                                              "last_attempt_utc": "last_access_utc"}).with_columns(
                pl.lit(None, dtype=pl.String).alias("exposure"), pl.lit(None, dtype=pl.Boolean).alias("modified"))
                .select(cols)])
        if contacts is not None:
            table = table.join(contacts, on="patient_id", how="left").with_columns(
                pl.col("patient_id").is_in(contacts["patient_id"].implode()).alias("in_directory"))
        table = table.sort("status", "patient_id")
        for file, data in (("letters.csv", csv_bytes(table)),
                           ("letters_excel.csv", csv_bytes(table, separator=";", bom=True)),
                           ("letters.xlsx", _xlsx({"patients": table} | ({"attempted": attempted_table}
                                                                           if tried.height else {}))),
                           ("attempted.csv", csv_bytes(attempted_table.sort("patient_id")))):
            written[f"{rel}/{file}"] = data
        letter = template(lang)
        written[f"{rel}/letter_template.md"] = letter.encode()
        if table.height:
            first = table.row(0, named=True)
            windows = result.summary["incident"]["windows_utc"]
            example = letter.format(
                practice_name=TO_COMPLETE[lang], today=TO_COMPLETE[lang],
                patient_name=first.get("name") or first["patient_id"], sentence=first["message"],
                breach_start=phr.moment(windows[0][0]), breach_end=phr.moment(windows[-1][1]),
                **texts)
            written[f"{rel}/example_letter.md"] = example.encode()
        sheet = _regulator_sheet(result, practice, mine, tried, lang)
        written[f"{rel}/summary.json"] = json_bytes(sheet)
        written[f"{rel}/summary.md"] = _sheet_md(sheet, lang).encode()
    return kits
