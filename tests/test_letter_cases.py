"""Letters that state only what the logs show, in the cases a first version got wrong.

Each test is one situation a practice's letter must tell apart: an undetermined access by an account of another
practice, an attempt made only by an undetermined segment, a list of patients changed (not the record), copies and
changes made by someone we could not identify, the hour the clocks go back, an incident of two windows, and the
directories and templates practices really have (phone numbers, postal addresses on several lines, French column
titles, a template with a format, a file saved in Latin-1, a language code written pt_BR).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from importlib import resources

import openpyxl
import pytest
import small_case

from scoping import cli, wording
from scoping.errors import ConfigError
from scoping.phrasing import Acts, Change, Facts, Phrasing, Span


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _phrasing(lang: str = "en") -> Phrasing:
    return Phrasing(wording.load(lang), "Europe/Paris")


ONCE = Span(_t("2025-11-10 19:00"), _t("2025-11-10 19:00"))


def test_the_precaution_names_the_practice_only_when_the_account_is_of_that_practice():
    phr = _phrasing()
    facts = Facts(undetermined=Acts(span=ONCE, record=ONCE, seen=("clinical_note",)), doubt=frozenset({"P1"}))
    own = phr.letter(facts, practice="P1")
    other = phr.letter(facts, practice="P2")
    assert own.endswith(phr.words.text("letter", "undetermined")) and "practitioner" in own
    assert other.endswith(phr.words.text("letter", "undetermined_other")) and "practitioner" not in other
    # accounts of two practices (or of none we know): never "your practitioner"
    mixed = Facts(undetermined=facts.undetermined, doubt=frozenset({"P1", "P2"}))
    assert phr.letter(mixed, practice="P1").endswith(phr.words.text("letter", "undetermined_other"))


def test_an_attempt_by_an_undetermined_segment_is_not_told_as_the_intruders():
    phr = _phrasing("fr")
    first, last = ONCE.first, ONCE.last
    assert phr.attempted(Span(first, last), by_attacker=True).startswith("Une personne sans autorisation")
    unsure = phr.attempted(Span(first, last), by_attacker=False)
    assert "pas pu identifier" in unsure and "par précaution" in unsure


def test_copies_and_changes_of_an_undetermined_segment_follow_the_sentence_that_names_it():
    phr = _phrasing()
    later = Span(_t("2025-11-10 20:00"), _t("2025-11-10 20:00"))
    facts = Facts(attacker=Acts(span=ONCE, record=ONCE, seen=("clinical_note",)),
                  undetermined=Acts(span=later, record=later, seen=("clinical_note", "lab_result"), copied=later,
                                    copies={"download": ("document",)},
                                    changes=(Change("update", "clinical_note", 1, later),)),
                  doubt=frozenset({"P1"}))
    text = phr.letter(facts, practice="P1")
    intruder, _, rest = text.partition("Other accesses to your record")
    assert "downloaded" not in intruder and "changed" not in intruder   # nothing of theirs told as the intruder's
    assert "These accesses showed: consultation notes and laboratory results." in rest  # all they showed
    assert "During these accesses, copies were made at the same time — downloaded: documents" in rest
    assert "During these accesses, your record was changed — changed: a consultation note" in rest


def test_a_changed_list_of_patients_is_not_a_changed_record():
    phr = _phrasing()
    facts = Facts(attacker=Acts(span=ONCE, listed=ONCE, list_actions=("list",),
                                changes=(Change("update", "patient_list", 1, ONCE),)))
    text = phr.letter(facts, practice="P1")
    assert "A list of patients that names you was changed — changed: a list of patients" in text
    assert "Your record was also changed" not in text
    assert text.endswith("Your record itself was not opened.")


@pytest.mark.parametrize(("lang", "summer", "winter", "zone"), [
    ("en", "02:50 (Paris summer time, UTC+2)", "02:10 (Paris winter time, UTC+1)", "(Paris time)"),
    ("fr", "2 h 50 (heure d'été de Paris, UTC+2)", "2 h 10 (heure d'hiver de Paris, UTC+1)", "(heure de Paris)")])
def test_a_time_the_clocks_show_twice_says_which_it_is(lang, summer, winter, zone):
    """Said once, with its zone: the phrase holding such a time does not add its own zone in brackets again."""
    phr = _phrasing(lang)
    text = phr.when(_t("2025-10-26 00:50"), _t("2025-10-26 01:10"))   # 02:50 CEST, then 02:10 CET
    assert text.index(summer) < text.index(winter)
    assert zone not in text and ") (" not in text and text.endswith(winter)
    one = phr.moment(_t("2025-10-26 01:10"))
    assert one.endswith(winter) and one.count("(") == 1
    mixed = phr.when(_t("2025-10-25 23:40"), _t("2025-10-26 01:10"))  # 01:40 CEST (once), then 02:10 CET (twice)
    assert zone not in mixed and mixed.count("(") == 2  # each end its own offset: never one read with the other's
    assert summer.replace("02:50", "01:40").replace("2 h 50", "1 h 40") in mixed and mixed.endswith(winter)
    assert "UTC" not in phr.when(_t("2025-10-26 03:00"), _t("2025-10-26 03:00"))  # 04:00: happens once
    assert phr.when(_t("2025-10-26 03:00"), _t("2025-10-26 03:00")).endswith(zone)


def test_the_example_letter_of_an_incident_of_two_windows_names_each_window(tmp_path):
    incident = small_case.SOURCE.split("[incident]")[1]
    two = incident.replace('windows = [["2025-10-25 00:00", "2025-11-12 00:00"]]',
                           'windows = [["2025-10-25 00:00", "2025-10-27 00:00"], ["2025-11-10 00:00", '
                           '"2025-11-12 00:00"]]')
    case = small_case.build(tmp_path, source=small_case.SOURCE.replace(incident, two))
    try:
        result = case.scope()
        case.notify(result, lang="en")
        example = (case.out / "notify" / "en" / result.practice_files["P1"] / "example_letter.md").read_text()
    finally:
        case.close()
    assert "between 25 October 2025 at 00:00 and 27 October 2025 at 00:00" in example
    assert "between 10 November 2025 at 00:00 and 12 November 2025 at 00:00" in example
    assert "and 12 November 2025" in example and "25 October 2025 at 00:00 and 12 November" not in example


@pytest.fixture
def scoped(tmp_path):
    case = small_case.build(tmp_path, extra_toml='\n[notify]\nwording_dir = "wording"\n')
    (tmp_path / "wording").mkdir()
    yield case, case.scope(), tmp_path
    case.close()


def _letters(case, result, lang="fr", practice="P1"):
    path = case.out / "notify" / lang / result.practice_files[practice] / "letters.csv"
    return {r["patient_id"]: r for r in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))}


def test_a_french_directory_is_read_by_its_titles(scoped):
    case, result, folder = scoped
    directory = folder / "annuaire.csv"
    directory.write_text("patient_id;civilité;Nom;Prénom;date de naissance;Adresse postale;Téléphone portable;"
                         "E-mail\n A ;Mme;MARTIN;Anne;01/02/1960;;;\nB;M.;DURAND;Paul;03/04/1970;\"1 rue X\r\n"
                         "75001 Paris\";+33 6 12 34 56 78;\n")
    case.notify(result, lang="fr", directory=directory)
    rows = _letters(case, result)
    assert rows["A"]["has_contact"] == "false" and rows["A"]["Nom"] == "MARTIN"   # " A " is A; no way to reach
    assert rows["B"]["has_contact"] == "true"
    assert rows["B"]["Adresse postale"] == "1 rue X\n75001 Paris"                   # a postal address keeps its lines
    assert rows["B"]["Téléphone portable"] == "+33 6 12 34 56 78"                   # a phone number is no formula
    kit = case.out / "notify" / "fr" / result.practice_files["P1"]
    missing = {r["patient_id"] for r in csv.DictReader(io.StringIO((kit / "contacts_missing.csv").read_text()))}
    assert "A" in missing and "B" not in missing
    sheet = openpyxl.load_workbook(kit / "letters.xlsx").worksheets[0]
    cells = [c.value for row in sheet.iter_rows(values_only=False) for c in row]
    assert "1 rue X\n75001 Paris" in cells and "+33 6 12 34 56 78" in cells


def test_a_directory_without_a_recognisable_contact_column_asks_for_them(scoped):
    case, result, folder = scoped
    directory = folder / "dir.csv"
    directory.write_text("patient_id,nom,date_naissance,champ_1\nA,MARTIN,1960-02-01,x\n")
    with pytest.raises(ConfigError, match="no column of the patient directory is recognised") as info:
        case.notify(result, lang="fr", directory=directory)
    assert "contact_columns" in (info.value.hint or "")


def test_the_detail_sheet_has_a_utc_column_for_the_hour_that_happens_twice(scoped):
    case, result, _ = scoped
    case.notify(result, lang="en")
    kit = case.out / "notify" / "en" / result.practice_files["P1"]
    sheet = openpyxl.load_workbook(kit / "letters.xlsx").worksheets[1]
    header = [c.value for c in sheet[1]]
    assert header[-1] == wording.load("en").tables["columns"]["time_utc"]
    assert all(isinstance(row[-1], datetime) for row in sheet.iter_rows(min_row=2, values_only=True))


@pytest.mark.parametrize("body", ["{sentence!z}", "{today:d}", "{patient_name:>{x}}", "{sentence.upper}"])
def test_a_letter_template_that_cannot_be_filled_in_fails_before_any_kit(scoped, body):
    case, result, folder = scoped
    (folder / "wording" / "letter_fr.md").write_text(f"Bonjour {{patient_name}}\n{body}\n")
    with pytest.raises(ConfigError, match=r"letter template wording/letter_fr\.md"):
        case.notify(result, lang="fr")
    assert not (case.out / "notify").exists()


def test_a_template_saved_in_latin_1_is_named(scoped):
    case, result, folder = scoped
    (folder / "wording" / "letter_fr.md").write_bytes("Bonjour é {patient_name}\n{sentence}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"letter_fr\.md is not UTF-8") as info:
        case.notify(result, lang="fr")
    assert "UTF-8" in (info.value.hint or "")


@pytest.mark.parametrize("written", ["pt_BR", "pt-br", "PT-BR"])
def test_a_language_code_is_read_in_any_spelling(written):
    assert wording.normal_lang(written) == "pt-BR"


def test_a_language_of_the_case_can_be_named_pt_br_on_the_command_line(tmp_path, capsys):
    case = small_case.build(tmp_path, extra_toml='\n[notify]\nwording_dir = "wording"\n')
    case.scope()
    case.close()
    (tmp_path / "wording").mkdir()
    for kind, suffix in (("wording", "toml"), ("letter", "md")):
        shipped = (resources.files("scoping") / "templates" / f"{kind}_en.{suffix}").read_text("utf-8")
        (tmp_path / "wording" / f"{kind}_pt_BR.{suffix}").write_text(shipped, encoding="utf-8")
    assert cli.main(["notify", str(tmp_path), "--lang", "pt_BR"]) == 0
    assert (tmp_path / "out" / "notify" / "pt-BR").is_dir()
    assert "Traceback" not in capsys.readouterr().err


def test_an_access_whose_outcome_the_log_does_not_give_is_told_as_such():
    phr = _phrasing()
    later = Span(_t("2025-11-10 19:30"), _t("2025-11-10 19:30"))
    facts = Facts(attacker=Acts(span=Span(ONCE.first, later.last), record=Span(ONCE.first, later.last),
                                seen=("clinical_note",), unsure=later))
    text = phr.letter(facts, practice="P1")
    assert text.endswith("The logs do not show whether the requests made on 10 November 2025 at 20:30 (Paris time) "
                         "succeeded: this letter tells them as if they had, as a precaution.")
    assert "do not show" not in phr.letter(Facts(attacker=Acts(span=ONCE, record=ONCE)), practice="P1")


def test_attempts_of_the_intruder_and_of_an_unidentified_segment_are_told_apart():
    phr = _phrasing()
    later = Span(_t("2025-11-10 20:00"), _t("2025-11-10 20:00"))
    text = phr.attempts(Facts(refused_attacker=ONCE, refused_undetermined=later))
    intruder, _, unsure = text.partition("Someone we could not identify")
    assert intruder.startswith("Someone without the right") and "20:00" in intruder and "21:00" not in intruder
    assert "21:00" in unsure and unsure.endswith("We are telling you as a precaution.")


def test_a_list_of_patients_changed_by_the_intruder_reaches_the_letter():
    import polars as pl

    from scoping.phrasing import patient_facts

    pairs = pl.DataFrame({"patient_id": ["P1"], "action": ["update"], "category": ["patient_list"],
                          "exposure": ["listed"]})
    accesses = pl.DataFrame({"patient_id": ["P1"], "event_key": ["e1"], "ts_utc": ["2025-11-10T18:00:00Z"],
                             "verdict": ["attacker"], "reached": [True], "account_id": ["drX"],
                             "outcome": ["success"], "action": ["update"], "category": ["patient_list"],
                             "modifies": [False]})  # the accesses never count a list change as a record change
    facts = patient_facts(pairs, accesses, pl.DataFrame({"account_id": ["drX"], "practice_id": ["P9"]}))
    text = _phrasing().letter(facts["P1"], practice="P1")
    assert "A list of patients that names you was changed — changed: a list of patients" in text
    assert "Your record was also changed" not in text


def test_accesses_in_two_windows_are_told_window_by_window(tmp_path):
    """G's record is opened in each window of a two-window incident: its letter tells each window's accesses apart,
    never one range from the first window to the second (the weeks between held no access)."""
    incident = small_case.SOURCE.split("[incident]")[1]
    two = incident.replace('windows = [["2025-10-25 00:00", "2025-11-12 00:00"]]',
                           'windows = [["2025-10-25 00:00", "2025-10-27 00:00"], ["2025-11-10 00:00", '
                           '"2025-11-12 00:00"]]')
    log = small_case.LOG + "27,2025-11-10 19:35:00,drX,NOTE,G,OK,,\n"
    case = small_case.build(tmp_path, source=small_case.SOURCE.replace(incident, two), log=log)
    try:
        result = case.scope()
        case.notify(result, lang="en")
        path = case.out / "notify" / "en" / result.practice_files["P2"] / "letters.csv"
        letters = {r["patient_id"]: r["message"] for r in csv.DictReader(io.StringIO(path.read_text()))}
    finally:
        case.close()
    g = letters["G"]
    assert "opened on 26 October 2025 between 01:30 and 12:00 (Paris time) and on 10 November 2025 at 19:35 " \
           "(Paris time) by" in g, g
    assert "between 26 October 2025" not in g
    m = letters["M"]  # printed, then exported, in the second window only: told as before
    assert "on 10 November 2025 between 19:31 and 19:32 (Paris time)" in m and "October" not in m, m


def test_a_log_gap_on_the_night_the_clocks_go_back_gives_each_end_its_offset():
    from scoping.regulator import gap_statement

    gap = {"start_utc": "2025-10-25T23:00:00+00:00", "end_utc": "2025-10-26T01:00:00+00:00", "usual_events": 0}
    text = gap_statement(gap, _phrasing("en"))  # 01:00 summer time, then 02:00 winter time: two hours
    assert text.startswith("no log on 26 October 2025 between 01:00 (Paris summer time, UTC+2) and 02:00 "
                           "(Paris winter time, UTC+1)"), text
    assert "(Paris time)" not in text


def test_a_wording_written_before_the_dst_forms_keeps_the_zone_of_its_phrases(tmp_path):
    """A case's table that rewrites `ambiguous` without {zone} (as before the `_dst` forms), or a phrase without its
    `_dst` form: the phrase keeps its own zone; the shipped forms without a zone are never mixed in."""
    (tmp_path / "wording_en.toml").write_text('[time]\nambiguous = "{clock} ({season}, UTC{offset})"\n')
    old = Phrasing(wording.load("en", case_dir=tmp_path), "Europe/Paris")
    text = old.moment(_t("2025-10-26 01:10"))  # 02:10 CET
    assert text == "on 26 October 2025 at 02:10 (winter time, UTC+1) (Paris time)", text
    (tmp_path / "wording_en.toml").write_text('[time]\none_moment = "at {start} on {date}, {zone} local time"\n')
    mine = Phrasing(wording.load("en", case_dir=tmp_path), "Europe/Paris")
    text = mine.moment(_t("2025-10-26 01:10"))
    assert text == "at 02:10 (Paris winter time, UTC+1) on 26 October 2025, Paris local time", text
    assert mine.when(_t("2025-10-26 00:50"), _t("2025-10-26 01:10")).startswith("on 26 October 2025 between 02:50 "
                                                                               "(Paris summer time, UTC+2) and")
