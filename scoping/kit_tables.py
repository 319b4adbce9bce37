"""The tables of a notification kit, as polars frames: letters, per-access detail, attempts, the directory join.

Each table comes twice: for machines (`*.csv`: stable column names and codes, instants in UTC and in local time
with their offset and the log's sub-second digits) and for people (`*_excel.csv`, `letters.xlsx`: titles and
values in the kit's language, local times with the zone in the column title). Nothing here loops over events.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from .errors import ConfigError, InputError
from .phrasing import instant
from .wording import Wording

# Words of a directory's column titles (accents, case and separators aside: "Téléphone portable", "E-mail",
# "code_postal", "phoneNumber"): a column is a way to reach the patient when its title holds a contact word and
# no identity word ("date de naissance", "civilité", "nom de naissance" say who a patient is, not where).
CONTACT_WORDS = frozenset({
    "address", "addresse", "adresse", "addr", "adr", "rue", "street", "voie", "city", "ville", "town", "commune",
    "localite", "cedex", "cp", "zip", "zipcode", "postcode", "postal", "postale", "codepostal", "phone", "telephone",
    "tel", "mobile", "portable", "cell", "cellphone", "gsm", "fax", "email", "mail", "courriel", "mel"})
IDENTITY_WORDS = frozenset({
    "name", "names", "nom", "noms", "prenom", "prenoms", "firstname", "lastname", "surname", "givenname",
    "familyname", "fullname", "civilite", "civility", "title", "titre", "salutation", "sexe", "sex", "gender",
    "genre", "birth", "birthdate", "birthday", "dob", "naissance", "ddn", "age", "nir", "ssn", "insee"})
LETTER_COLUMNS = ("patient_id", "status", "exposure", "modified", "attribution", "first_access_utc",
                  "last_access_utc", "message")


def local_iso(column: str, tz: str) -> pl.Expr:
    """Local time with its offset, keeping the log's sub-second digits (2025-11-10T18:07:16.698+01:00)."""
    t = instant(column).dt.convert_time_zone(tz)
    return (t.dt.strftime("%Y-%m-%dT%H:%M:%S") + pl.col(column).str.extract(r"(\.\d+)").fill_null("")
            + t.dt.strftime("%:z"))


def local_text(column: str, tz: str) -> pl.Expr:
    """Local time as a spreadsheet reads it (2025-11-10 18:07:16.698), the zone being in the column title."""
    t = instant(column).dt.convert_time_zone(tz)
    return t.dt.strftime("%Y-%m-%d %H:%M:%S") + pl.col(column).str.extract(r"(\.\d+)").fill_null("")


def local_datetime(column: str, tz: str) -> pl.Expr:
    return instant(column).dt.convert_time_zone(tz).dt.replace_time_zone(None)


def _label(column: str, labels: dict[str, str]) -> pl.Expr:
    return pl.col(column).cast(pl.String).replace_strict(labels, default=pl.col(column).cast(pl.String),
                                                         return_dtype=pl.String)


def _yes_no(column: str, words: Wording) -> pl.Expr:
    v = words.tables["values"]
    return (pl.when(pl.col(column).cast(pl.String).str.to_lowercase() == "true").then(pl.lit(str(v["yes"])))
            .when(pl.col(column).is_null()).then(pl.lit(None, dtype=pl.String)).otherwise(pl.lit(str(v["no"])))
            .alias(column))


@dataclass(frozen=True)
class Directory:
    """A patient directory made ready to join: one row per patient, contact columns named, duplicates noted."""

    table: pl.DataFrame          # patient_id, the directory's own columns, has_contact
    columns: tuple[str, ...]     # the directory's columns as joined (renamed when they clash with ours)
    duplicates: frozenset[str]   # patient ids with several rows (the first is used)


def _words(title: str) -> set[str]:
    """The words of a column title, without accents, case, digits or separators (phoneNumber → phone, number)."""
    plain = unicodedata.normalize("NFKD", re.sub(r"([a-z])([A-Z])", r"\1 \2", title))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return {w.rstrip("0123456789") for w in re.split(r"[^a-z0-9]+", plain) if w.rstrip("0123456789")}


def recognised_contacts(columns: Sequence[str]) -> list[str]:
    """The columns of a directory that say how to reach a patient (see CONTACT_WORDS)."""
    return [c for c in columns if _words(c) & CONTACT_WORDS and not _words(c) & IDENTITY_WORDS]


def prepare_directory(directory: pl.DataFrame, contact_columns: Sequence[str] | None) -> Directory:
    """The directory ready to join: ids compared as ingest compares them (spaces around trimmed, empty is none),
    contact columns named by case.toml ([notify] contact_columns) or recognised by their titles."""
    if "patient_id" not in directory.columns:
        raise InputError("the patient directory has no patient_id column", hint=f"its columns: {directory.columns}")
    d = directory.select(pl.all().cast(pl.String))
    ids = pl.col("patient_id").str.strip_chars(" ")
    d = d.with_columns(pl.when(ids != "").then(ids).alias("patient_id"))
    if contact_columns is not None:
        unknown = [c for c in contact_columns if c not in d.columns]
        if unknown:
            raise ConfigError(f"case.toml [notify] contact_columns names column(s) the directory lacks: "
                              f"{', '.join(unknown)}", hint=f"its columns: {', '.join(d.columns)}")
        contact = list(contact_columns)
    else:
        contact = recognised_contacts([c for c in d.columns if c != "patient_id"])
        if not contact:
            raise ConfigError(f"no column of the patient directory is recognised as a way to reach a patient (an "
                              f"address, a phone number, an e-mail): its columns are {', '.join(d.columns)}",
                              hint='name them in case.toml: [notify] contact_columns = ["...", "..."]')
    # a directory column named like one of ours keeps its values under another name
    reserved = {*LETTER_COLUMNS, "in_directory", "has_contact"} - {"patient_id"}
    renames = {c: f"directory_{c}" for c in d.columns if c in reserved}
    d = d.rename(renames)
    contact = [renames.get(c, c) for c in contact]
    counts = d.group_by("patient_id").len()
    duplicates = frozenset(counts.filter(pl.col("len") > 1)["patient_id"].drop_nulls().to_list())
    d = d.filter(pl.col("patient_id").is_not_null()).unique("patient_id", keep="first", maintain_order=True)
    own = tuple(c for c in d.columns if c != "patient_id")
    filled = [pl.col(c).str.strip_chars().fill_null("") != "" for c in contact]
    has = pl.any_horizontal(filled) if filled else pl.lit(False)
    return Directory(d.with_columns(has.alias("has_contact")), own, duplicates)


def letters_table(affected: pl.DataFrame, attempted: pl.DataFrame, messages: pl.DataFrame, *,
                  include_attempted: bool) -> pl.DataFrame:
    """One row per patient to write to (machine columns): the affected, and the attempted when asked."""
    rows = (affected.join(messages, on="patient_id", how="left")
            .with_columns(pl.lit("affected").alias("status")).select(LETTER_COLUMNS))
    if include_attempted:
        tried = attempted.join(messages, on="patient_id", how="left").select(
            "patient_id", pl.lit("attempted").alias("status"), pl.lit(None, dtype=pl.String).alias("exposure"),
            pl.lit(None, dtype=pl.Boolean).alias("modified"), pl.lit(None, dtype=pl.String).alias("attribution"),
            pl.col("first_attempt_utc").alias("first_access_utc"), pl.col("last_attempt_utc").alias("last_access_utc"),
            "message")
        rows = pl.concat([rows, tried])
    return rows.sort("status", "patient_id")


def with_directory(letters: pl.DataFrame, directory: Directory | None) -> pl.DataFrame:
    if directory is None:
        return letters
    return letters.join(directory.table, on="patient_id", how="left").with_columns(
        pl.col("patient_id").is_in(directory.table["patient_id"].implode()).alias("in_directory"),
        pl.col("has_contact").fill_null(False))


def missing_contacts(letters: pl.DataFrame, directory: Directory, words: Wording) -> pl.DataFrame:
    """The patients to write to whom the directory does not hold, holds twice (which entry is right is for the
    practice to say), or holds without any way to reach them (problem: missing, duplicate, no_contact; reason:
    the same in words)."""
    v = words.tables["values"]
    problem = (pl.when(~pl.col("in_directory")).then(pl.lit("missing"))
               .when(pl.col("patient_id").is_in(sorted(directory.duplicates))).then(pl.lit("duplicate"))
               .when(~pl.col("has_contact")).then(pl.lit("no_contact"))
               .otherwise(None))
    reasons = {"missing": str(v["missing_from_directory"]), "no_contact": str(v["no_contact_details"]),
               "duplicate": str(v["duplicate_in_directory"])}
    return (letters.with_columns(problem.alias("problem")).filter(pl.col("problem").is_not_null())
            .select("patient_id", "status", "problem", pl.col("problem").replace_strict(reasons).alias("reason")))


def account_labels(accounts: pl.DataFrame, practice: str, words: Wording) -> tuple[pl.Expr, list[str]]:
    """The label of each access's account: the account id when the account belongs to this practice, else its
    neutral number ("compte 2"); a generic label when the accounts table does not hold it."""
    v = words.tables["values"]
    numbered = {str(a): words.text("values", "account", no=int(n))
                for a, n in accounts.select("account_id", "account_no").iter_rows() if n is not None}
    owners = {str(a): p for a, p in accounts.select("account_id", "practice_id").iter_rows()}
    own = [a for a, p in owners.items() if p == practice]
    label = (pl.when(pl.col("account_id").is_in(own)).then(pl.col("account_id"))
             .otherwise(pl.col("account_id").replace_strict(numbered, default=pl.lit(str(v["account_unknown"])),
                                                            return_dtype=pl.String)))
    return label, own


def detail_table(accesses: pl.DataFrame, account: pl.Expr, tz: str) -> pl.DataFrame:
    """One row per counted access (reached or refused), for follow-up calls, Art. 15 requests and checking every
    changed item with the patient."""
    return accesses.select(
        "patient_id", local_iso("ts_utc", tz).alias("time_local"), "ts_utc", "action", "category",
        "resource_type", "resource_id", "outcome", account.alias("account"), pl.col("verdict").alias("attribution"),
        "event_key")


def human_letters(letters: pl.DataFrame, directory: Directory | None, words: Wording, tz: str, *,
                  dated: bool) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The letters table as a secretary reads it, with its column titles (local times as date-times for a
    workbook, as text keeping their fraction for a CSV)."""
    local = local_datetime if dated else local_text
    v, c = words.tables["values"], words.tables["columns"]
    status = {"affected": str(v["affected"]), "attempted": str(v["attempted"])}
    cols = [pl.col("patient_id"), _label("status", status), _label("exposure", words.labels("exposures")),
            _yes_no("modified", words), _label("attribution", words.labels("attribution")),
            local("first_access_utc", tz).alias("first_access"),
            local("last_access_utc", tz).alias("last_access"), pl.col("message")]
    titles = [c["patient"], c["status"], c["exposure"], c["modified"], c["attribution"],
              words.text("columns", "first_access", zone=tz), words.text("columns", "last_access", zone=tz),
              c["message"]]
    if directory is not None:
        cols += [pl.col(n) for n in directory.columns] + [_yes_no("has_contact", words)]
        titles += [*directory.columns, c["has_contact"]]
    return letters.select(cols), tuple(str(t) for t in titles)


def human_detail(detail: pl.DataFrame, words: Wording, tz: str, *, dated: bool) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The detail as a secretary reads it; the UTC time last, so that a sort is right even in the hour the clocks
    go back, when a local time happens twice."""
    c = words.tables["columns"]
    local = local_datetime if dated else local_text
    table = detail.select(
        "patient_id", local("ts_utc", tz).alias("time"), _label("action", words.labels("actions")),
        _label("category", words.labels("category_names")), "resource_type", "resource_id",
        _label("outcome", words.labels("outcomes")), "account", _label("attribution", words.labels("attribution")),
        "event_key", local("ts_utc", "UTC").alias("time_utc"))
    titles = (c["patient"], words.text("columns", "time", zone=tz), c["action"], c["category"], c["resource_type"],
              c["resource_id"], c["outcome"], c["account"], c["attribution"], c["event_key"], c["time_utc"])
    return table, tuple(str(t) for t in titles)


def human_attempted(attempted: pl.DataFrame, messages: pl.DataFrame, words: Wording,
                    tz: str) -> tuple[pl.DataFrame, tuple[str, ...]]:
    c = words.tables["columns"]
    table = attempted.join(messages, on="patient_id", how="left").select(
        "patient_id", local_datetime("first_attempt_utc", tz).alias("first"),
        local_datetime("last_attempt_utc", tz).alias("last"), "n_attempts", "message").sort("patient_id")
    titles = (c["patient"], words.text("columns", "first_attempt", zone=tz),
              words.text("columns", "last_attempt", zone=tz), c["attempts"], c["message"])
    return table, tuple(str(t) for t in titles)


def human_missing(missing: pl.DataFrame, words: Wording) -> tuple[pl.DataFrame, tuple[str, ...]]:
    c, v = words.tables["columns"], words.tables["values"]
    status = {"affected": str(v["affected"]), "attempted": str(v["attempted"])}
    return (missing.select("patient_id", _label("status", status), "reason"),
            (str(c["patient"]), str(c["status"]), str(c["reason"])))
