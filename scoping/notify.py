"""Notification kits: what each practice sends, patient by patient, in plain words, and files with its regulator.

`kit_files` returns, for each practice (data controller), the bytes of `notify/<lang>/<practice>/`:
- `letters.csv` (for machines and mail merge: codes, UTC), `letters_excel.csv` (';' and a byte-order mark, for
  French Excel) and `letters.xlsx` (for people: titles and values in the kit's language, local times as real
  date-times): one row per affected patient (and per attempted one with `include_attempted`), with the sentences
  that say what happened to that record (`phrasing`), contact details when the practice supplies a directory;
- `detail.csv` / `detail_excel.csv` (and a sheet of letters.xlsx): one row per counted access, reached or refused,
  with its local time, action, data, item, outcome and account, for follow-up calls, GDPR Art. 15 requests and
  checking every changed item with the patient;
- `attempted.csv`: patients only attempted (never reached), with their own wording;
- `contacts_missing.csv` (with a directory): the patients the directory gives no way to reach;
- `letter_template.md` (editable, with placeholders) and `example_letter.md` (first patient);
- `summary.md` and `summary.json`: the practice's regulator sheet, all of it in the kit's language (`regulator`).

Every word comes from the wording tables (`wording`); nothing here writes a file or opens the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from . import kit_tables as kt
from . import regulator, wording
from .errors import ConfigError, InputError
from .phrasing import Phrasing, Span, instant, patient_facts
from .progress import Progress
from .result import ScopeResult
from .writers import Sheet, csv_bytes, json_bytes, xlsx_bytes

TEXT_SETTINGS = ("processor", "contact", "authority", "measures", "signature")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss.000"


def read_directory(path: Path) -> pl.DataFrame:
    """A practice's patient directory: a CSV (',' or ';', as French Excel writes it) with a patient_id column and
    contact details, read as text. Duplicate ids are kept: the kit reports them."""
    if not path.is_file():
        raise InputError(f"patient directory {path} not found", hint="give a CSV with a patient_id column")
    try:
        with path.open(encoding="utf-8-sig") as fh:
            header = fh.readline()
        separator = ";" if header.count(";") > header.count(",") else ","
        df = pl.read_csv(path, infer_schema=False, separator=separator)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"patient directory {path} cannot be read: {exc}",
                         hint="save it as CSV UTF-8 (a choice of Excel's Save As)") from exc
    df = df.rename({c: c.lstrip("\ufeff") for c in df.columns})
    if "patient_id" not in df.columns:
        raise InputError(f"patient directory {path} has no patient_id column", hint=f"its columns: {df.columns}")
    return df


def _settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    for key in (*TEXT_SETTINGS, "wording_dir"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"case.toml [notify] {key} must be a text in quotes, not {raw[key]!r}")
    columns = raw.get("contact_columns")
    if columns is not None and not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
        raise ConfigError("case.toml [notify] contact_columns must be a list of column names",
                          hint='for example contact_columns = ["address", "email", "phone"]')
    return dict(raw)


def load_wording(lang: str, settings: Mapping[str, Any], root: Path | None) -> wording.Wording:
    """The shipped wording of `lang`, overridden by the case's own tables ([notify] wording_dir, relative to the
    case folder `root`)."""
    folder = settings.get("wording_dir")
    if folder is None:
        return wording.load(lang)
    path = Path(folder) if Path(folder).is_absolute() or root is None else root / folder
    return wording.load(lang, case_dir=path, shown_dir=str(folder))


def _messages(result: ScopeResult, phr: Phrasing, wanted: pl.DataFrame, attempted: pl.DataFrame) -> pl.DataFrame:
    """One text per patient and practice (`wanted`: patient_id, practice_id), from its pairs and accesses grouped
    with polars; the same in each of a patient's kits but for the account of an undetermined access, which is of
    one practice (its letter names the patient's practitioner) and not of the other (the account's holder)."""
    ids = wanted["patient_id"].unique().implode()
    windows = [(regulator.utc(a), regulator.utc(b)) for a, b in result.summary["incident"]["windows_utc"]]
    facts = patient_facts(result.pairs.filter(pl.col("patient_id").is_in(ids)),
                          result.accesses.filter(pl.col("patient_id").is_in(ids)), result.accounts, windows)
    reached = {p for p, f in facts.items() if f.attacker or f.undetermined}
    rows = [(p, practice, phr.letter(facts[p], practice=practice))
            for p, practice in wanted.unique().sort("patient_id", "practice_id").iter_rows() if p in reached]
    tried = (attempted.filter(~pl.col("patient_id").is_in(list(reached))).unique(["patient_id", "practice_id"])
             .select("patient_id", "practice_id", instant("first_attempt_utc").alias("a"),
                     instant("last_attempt_utc").alias("b")))
    rows += [(p, practice, (phr.attempts(facts[p]) if p in facts else "") or phr.attempted(Span(a, b)))
             for p, practice, a, b in tried.iter_rows()]
    return pl.DataFrame(rows, schema={"patient_id": pl.String, "practice_id": pl.String, "message": pl.String},
                        orient="row")


def kit_practices(result: ScopeResult, practices: list[str] | None = None) -> list[str]:
    """The practices that get a kit, in order: those with affected or attempted patients (or the named ones, each of
    which must have some)."""
    named = set(result.affected["practice_id"].drop_nulls()) | set(result.attempted["practice_id"].drop_nulls())
    chosen = sorted(named)
    if practices:
        unknown = sorted(set(practices) - set(chosen))
        if unknown:
            raise ConfigError(f"no affected or attempted patient for practice(s) {', '.join(unknown)}")
        chosen = [p for p in chosen if p in practices]
    return chosen


def kit_files(result: ScopeResult, *, lang: str = "fr", practices: list[str] | None = None,
              directory: pl.DataFrame | None = None, include_attempted: bool = False,
              settings: Mapping[str, Any] | None = None, root: Path | None = None,
              progress: Progress | None = None) -> dict[str, dict[str, bytes]]:
    """One kit per practice (or the named ones): practice file name → {path under the output folder: bytes}.

    `settings` is case.toml's [notify] table; `root` is the case folder, where a relative `wording_dir` is read;
    `progress` hears of each kit made."""
    cfg = _settings(settings or {})
    words = load_wording(lang, cfg, root)
    tz = result.incident.timezone
    phr = Phrasing(words, tz)
    chosen = kit_practices(result, practices)
    affected, attempted = result.affected, result.attempted
    affected = affected.filter(pl.col("practice_id").is_in(chosen))
    attempted = attempted.filter(pl.col("practice_id").is_in(chosen))
    wanted = pl.concat([affected.select("patient_id", "practice_id"), attempted.select("patient_id", "practice_id")])
    messages = _messages(result, phr, wanted, attempted)
    contacts = kt.prepare_directory(directory, cfg.get("contact_columns")) if directory is not None else None
    parts = {name: {p: f for (p,), f in frame.partition_by("practice_id", as_dict=True).items()}
             for name, frame in (("affected", affected), ("attempted", attempted),
                                 ("pairs", result.pairs.filter(pl.col("practice_id").is_in(chosen))),
                                 ("accesses", result.accesses.filter(pl.col("practice_id").is_in(chosen))))}
    kits: dict[str, dict[str, bytes]] = {}
    texts = {p: f.drop("practice_id") for (p,), f in messages.partition_by("practice_id", as_dict=True).items()}
    for practice in chosen:
        def part(name: str, practice: str = practice) -> pl.DataFrame:
            empty: pl.DataFrame = result.frames[name].clear()
            return parts[name].get(practice, empty)
        name = result.practice_files[practice]
        kits[name] = _kit(result, practice, f"notify/{lang}/{name}", phr=phr, cfg=cfg, contacts=contacts,
                          include_attempted=include_attempted, affected=part("affected"),
                          messages=texts.get(practice, messages.clear().drop("practice_id")),
                          attempted=part("attempted"), pairs=part("pairs"), accesses=part("accesses"))
        if progress is not None:
            progress("kits", len(kits), len(chosen))
    return kits


def _kit(result: ScopeResult, practice: str, rel: str, *, phr: Phrasing, cfg: Mapping[str, Any],
         contacts: kt.Directory | None, include_attempted: bool, messages: pl.DataFrame, affected: pl.DataFrame,
         attempted: pl.DataFrame, pairs: pl.DataFrame, accesses: pl.DataFrame) -> dict[str, bytes]:
    words, tz = phr.words, phr.tz
    letters = kt.with_directory(kt.letters_table(affected, attempted, messages, include_attempted=include_attempted),
                                contacts)
    account, own_ids = kt.account_labels(result.accounts, practice, words)
    detail = kt.detail_table(accesses, account, tz)
    missing = kt.missing_contacts(letters, contacts, words) if contacts is not None else None
    files = _tables(letters, detail, attempted, messages, missing, contacts, phr)
    files["letter_template.md"] = words.letter.encode()
    if letters.height:
        files["example_letter.md"] = _example(result, letters.row(0, named=True), phr, cfg).encode()
    no_contact = None
    if missing is not None:
        no_contact = missing.filter((pl.col("status") == "affected") & (pl.col("problem") != "duplicate")).height
    reached = accesses.filter(pl.col("reached"))
    used = reached.select(account.alias("label"), pl.col("account_id").is_in(own_ids).alias("own")).unique()
    accounts = [words.text("sheet_text", "own_account", account=label) if own else label
                for label, own in used.sort("own", "label").iter_rows()]
    title, sections = regulator.sheet(practice=practice, summary=result.summary, phr=phr, affected=affected,
                                      attempted=attempted, pairs=pairs, reached_accounts=accounts,
                                      records=reached.height, no_contact=no_contact, settings=cfg)
    files["summary.json"] = json_bytes(regulator.as_json(title, sections))
    files["summary.md"] = regulator.as_markdown(title, sections, words, phr).encode()
    return {f"{rel}/{name}": data for name, data in sorted(files.items())}


def _tables(letters: pl.DataFrame, detail: pl.DataFrame, attempted: pl.DataFrame, messages: pl.DataFrame,
            missing: pl.DataFrame | None, contacts: kt.Directory | None, phr: Phrasing) -> dict[str, bytes]:
    """The kit's tables: CSV for machines, ';'-CSV and a workbook for people."""
    words, tz = phr.words, phr.tz
    names = words.tables["sheets"]
    human, human_titles = kt.human_letters(letters, contacts, words, tz, dated=True)
    human_text, _ = kt.human_letters(letters, contacts, words, tz, dated=False)
    detail_dated, detail_titles = kt.human_detail(detail, words, tz, dated=True)
    detail_text, _ = kt.human_detail(detail, words, tz, dated=False)
    lines = contacts.columns if contacts is not None else ()  # a postal address keeps its line breaks
    sheets = [Sheet(str(names["patients"]), human, human_titles, DATETIME_FORMAT, lines),
              Sheet(str(names["detail"]), detail_dated, detail_titles, DATETIME_FORMAT)]
    if attempted.height:
        table, titles = kt.human_attempted(attempted, messages, words, tz)
        sheets.append(Sheet(str(names["attempted"]), table, titles, DATETIME_FORMAT))
    files: dict[str, bytes] = {}
    if missing is not None:
        table, titles = kt.human_missing(missing, words)
        sheets.append(Sheet(str(names["no_contact"]), table, titles))
        files["contacts_missing.csv"] = csv_bytes(missing)
    tried = attempted.join(messages, on="patient_id", how="left").select(
        "patient_id", pl.lit("attempted").alias("status"), "first_attempt_utc", "last_attempt_utc", "n_attempts",
        "message").sort("patient_id")
    return files | {
        "letters.csv": csv_bytes(letters, multiline=lines),
        "letters_excel.csv": csv_bytes(human_text, separator=";", bom=True, header=human_titles, multiline=lines),
        "letters.xlsx": xlsx_bytes(sheets),
        "detail.csv": csv_bytes(detail),
        "detail_excel.csv": csv_bytes(detail_text, separator=";", bom=True, header=detail_titles),
        "attempted.csv": csv_bytes(tried),
    }


def _example(result: ScopeResult, first: dict[str, Any], phr: Phrasing, cfg: Mapping[str, Any]) -> str:
    words = phr.words
    todo = words.text("values", "to_complete")
    windows = result.summary["incident"]["windows_utc"]  # each one a period of its own, never the gap between
    period = phr.join([phr.when(regulator.utc(a), regulator.utc(b)) for a, b in windows])
    texts = {k: str(cfg.get(k) or todo) for k in TEXT_SETTINGS}
    return words.letter.format(practice_name=todo, today=todo, patient_name=first.get("name") or first["patient_id"],
                               sentence=first["message"], breach_period=period, **texts)
