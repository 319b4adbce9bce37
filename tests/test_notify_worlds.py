"""Letters of synthetic worlds, read back: every clause names exactly what the pairs say, and nothing more.

The copy clause has a fixed structure (`verb: categories; verb: categories`, from the wording table), so a test can
parse it and compare it with `result.pairs`: a category appears under a verb only if that verb touched it. The
"seen" clause likewise names only categories a viewing action touched, and a record is said to be opened only when
something other than a list of patients was reached.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import string

import polars as pl
import pytest
from helpers import run_case

from scoping import notify, wording
from scoping.phrasing import Phrasing
from scoping.regulator import utc
from scoping.schema import LIST_CATEGORY, MODIFYING

SEEDS = [(7, 0.3), (11, 0.5)]


@pytest.fixture(scope="module", params=SEEDS, ids=lambda p: f"seed{p[0]}")
def world(request, world_factory, tmp_path_factory):
    seed, scale = request.param
    folder = tmp_path_factory.mktemp(f"letters-{seed}") / "case"
    shutil.copytree(world_factory(seed=seed, scale=scale), folder, ignore=shutil.ignore_patterns("case.duckdb*", "out"))
    _, result = run_case(folder)
    return result, {lang: notify.kit_files(result, lang=lang) for lang in ("fr", "en")}


def _csv(data: bytes, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def _file(kit: dict[str, bytes], name: str) -> bytes:
    (path,) = [p for p in kit if p.endswith(f"/{name}")]
    return kit[path]


class Clauses:
    """Reads a letter's clauses back with the wording table that wrote them."""

    def __init__(self, words: wording.Wording) -> None:
        t = words.tables
        self.item_separator = str(t["grammar"]["item_separator"])
        self.separators = (str(t["grammar"]["list_separator"]), str(t["grammar"]["last_separator"]))
        self.verbs = {str(v): k for k, v in t["copy_verbs"].items()}
        self.categories = {str(v): k for k, v in t["categories"].items()}
        self.copied = [self._sentence(str(t["letter"][k])) for k in ("copied", "copied_alone", "also_copied")]
        self.seen = [self._sentence(str(t["letter"][k])) for k in ("seen", "also_seen")]
        self.opened = self._sentence(str(t["letter"]["opened"]))
        self.copy = re.compile("^" + self._pattern(str(t["letter"]["copy"])) + "$")

    @staticmethod
    def _pattern(template: str) -> str:
        out = ""
        for literal, name, _, _ in string.Formatter().parse(template):
            out += re.escape(literal) + (f"(?P<{name}>.+?)" if name else "")
        return out

    def _sentence(self, template: str) -> re.Pattern[str]:
        return re.compile(r"(?:^| )" + self._pattern(template) + r"(?= |$)")

    def _labels(self, text: str) -> list[str] | None:
        """A list of category labels joined by the table's separators, parsed whole (labels may hold commas)."""
        for label in sorted(self.categories, key=len, reverse=True):
            if text == label:
                return [label]
            if text.startswith(label):
                rest = text[len(label):]
                for sep in self.separators:
                    if rest.startswith(sep) and (tail := self._labels(rest[len(sep):])) is not None:
                        return [label, *tail]
        return None

    def categories_of(self, text: str) -> set[str]:
        labels = self._labels(text)
        assert labels is not None, f"not a list of categories: {text!r}"
        return {self.categories[label] for label in labels}

    def copies(self, message: str) -> dict[str, set[str]]:
        """Every copy clause's verbs and categories, those of the person who had no right and of someone we
        could not identify together (at most one clause each)."""
        found = [m for pattern in self.copied for m in pattern.finditer(message)]
        assert len(found) <= 2, message
        out: dict[str, set[str]] = {}
        for clause in found:
            for item in clause["copies"].split(self.item_separator):
                m = self.copy.match(item)
                assert m and m["verb"] in self.verbs, item
                out.setdefault(self.verbs[m["verb"]], set()).update(self.categories_of(m["categories"]))
        return out

    def seen_categories(self, message: str) -> set[str]:
        found = [m for pattern in self.seen for m in pattern.finditer(message)]
        assert len(found) <= 2, message
        return {c for m in found for c in self.categories_of(m["categories"])}


def _expected(pairs: pl.DataFrame) -> dict[str, dict[str, object]]:
    """What each patient's letter may say, straight from the pairs."""
    out: dict[str, dict[str, object]] = {}
    for row in pairs.unique(["patient_id", "action", "category"]).iter_rows(named=True):
        e = out.setdefault(row["patient_id"], {"copies": {}, "seen": set(), "opened": False})
        if row["exposure"] == "copied":
            e["copies"].setdefault(row["action"], set()).add(row["category"])  # type: ignore[union-attr]
        if row["exposure"] == "opened" and row["action"] not in MODIFYING:
            e["seen"].add(row["category"])  # type: ignore[union-attr]
        if row["exposure"] == "opened" or (row["exposure"] == "copied" and row["category"] != LIST_CATEGORY):
            e["opened"] = True
    return out


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_clause_names_exactly_what_the_pairs_say(world, lang):
    result, kits = world
    words = wording.load(lang)
    clauses = Clauses(words)
    expected = _expected(result.pairs)
    # the practices of the accounts behind each patient's undetermined accesses: its own practice's staff, or not
    owners = result.accounts.select("account_id", pl.col("practice_id").alias("owner"))
    doubt = {p: set(o) for p, o in result.accesses.filter(pl.col("reached") & (pl.col("verdict") == "undetermined"))
             .join(owners, on="account_id", how="left").group_by("patient_id").agg(pl.col("owner").unique()).rows()}
    own, other = words.text("letter", "undetermined"), words.text("letter", "undetermined_other")
    checked = {"copies": 0, "seen": 0, "not opened": 0, "undetermined": 0}
    practice_of = {name: p for p, name in result.practice_files.items()}
    for name, kit in kits[lang].items():
        for row in _csv(_file(kit, "letters.csv")):
            want, message = expected[row["patient_id"]], row["message"]
            assert clauses.copies(message) == want["copies"], message
            assert clauses.seen_categories(message) == want["seen"], message
            assert bool(clauses.opened.search(message)) == want["opened"], message
            owner = doubt.get(row["patient_id"])
            mine = owner == {practice_of[name]}
            assert (own in message, other in message) == (owner is not None and mine, owner is not None and not mine)
            checked["undetermined"] += owner is not None
            checked["copies"] += bool(want["copies"])
            checked["seen"] += bool(want["seen"])
            checked["not opened"] += not want["opened"]
    assert all(checked.values()), checked  # the world holds every kind of clause


def test_the_detail_file_has_one_row_per_counted_access(world):
    result, kits = world
    by_name = {name: p for p, name in result.practice_files.items()}
    for name, kit in kits["fr"].items():
        rows = _csv(_file(kit, "detail.csv"))
        mine = result.accesses.filter(pl.col("practice_id") == by_name[name])
        assert [(r["patient_id"], r["ts_utc"], r["event_key"]) for r in rows] == \
            mine.select("patient_id", "ts_utc", "event_key").rows()
        for r in rows:  # local time keeps the log's sub-second digits
            fraction = re.search(r"(\.\d+)\+00:00$", r["ts_utc"])
            assert (fraction.group(1) if fraction else "") in r["time_local"]
        human = _csv(_file(kit, "detail_excel.csv"), ";")
        assert len(human) == len(rows)
    assert any("." in r["ts_utc"] for r in result.accesses.iter_rows(named=True))


def _words(text: str) -> set[str]:
    text = re.sub(r"\{[^}]*\}", " ", text)  # placeholders of a wording table
    text = re.sub(r"\S*[/.@]\S*", " ", text)  # file names and paths
    return {w.lower() for w in re.findall(r"[^\W\d_]{3,}", text) if not re.search(r"\d", w)}


# words English and French share (checked by hand once: a new one must be added here knowingly)
FRENCH_TOO = {"action", "administrative", "allergies", "attribution", "consultation", "contact", "copies", "dates",
              "description", "document", "documents", "information", "message", "messages", "moment", "nature",
              "note", "notes", "notification", "patient", "patients", "protection", "scoping", "service", "session",
              "sessions", "siren", "type", "utc"}


def test_the_french_kit_has_no_english_word(world):
    _, kits = world
    en = wording.load("en")
    codes = {part for t in wording.SPEC.values() for k in t for part in k.split("_")}
    english = {x for t in en.tables.values() for v in t.values()
               for x in _words(" ".join(v) if isinstance(v, list) else str(v))}
    english = (english | codes | {"breach", "health", "data", "none", "true", "false", "null", "affected",
                                  "attacker", "undetermined", "completed", "practice"}) - FRENCH_TOO
    for kit in kits["fr"].values():
        for name in ("summary.md", "summary.json"):
            found = _words(_file(kit, name).decode()) & english
            assert not found, (name, sorted(found))
        # the spreadsheets' titles and the values scoping writes (not the log's own resource types and ids)
        letters = _csv(_file(kit, "letters_excel.csv"), ";")
        detail = _csv(_file(kit, "detail_excel.csv"), ";")
        shown = [*letters[0], *detail[0]] if letters else [*detail[0]]
        for row in letters:
            shown += [v for k, v in row.items() if k not in ("patient",) and not k.startswith(("premier", "dernier"))]
        columns = list(detail[0])
        for row in detail:
            shown += [row[c] for c in (columns[2], columns[3], columns[6], columns[8])]
        found = _words(" ".join(shown)) & english
        assert not found, sorted(found)


def test_the_sheet_tells_the_same_story_about_time_as_the_summary(world):
    result, kits = world
    activity = result.summary["activity"]
    phr = Phrasing(wording.load("en"), result.incident.timezone)
    kit = next(iter(kits["en"].values()))
    (sheet,) = json.loads(_file(kit, "summary.json")).values()
    dates = sheet["Dates"]
    attacker = dates["activity of the unauthorised person (all practices)"]
    assert f"last action {phr.moment(utc(activity['attacker']['last_activity_utc']))}" in attacker
    assert f"first action {phr.moment(utc(activity['attacker']['first_activity_utc']))}" in attacker
    undetermined = dates["activity not attributed with certainty (all practices)"]
    if activity["undetermined"]["events"]:
        assert f"last action {phr.moment(utc(activity['undetermined']['last_activity_utc']))}" in undetermined
    gaps = sheet["What the logs show and do not show"]["hours of the period without any log"]
    assert len(gaps) == max(1, len(result.summary["log_gaps"]))
