"""Notification kits: each patient once, in the right practice's kit, with sentences that say what happened.

The hand-made log below holds one patient per situation a letter must tell apart (the table EXPECTED_FR /
EXPECTED_EN says each one in words): viewed only (E), one category copied while others were viewed (N), listed
only (A), listed then opened (I), modified with its item (K, D), several copy verbs (M), undetermined counted (U),
only in an exported list (L), listed and then refused (R), downloaded without a view (C), over two days (F),
opened by the attacker and then by an undetermined segment (V).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import openpyxl
import polars as pl
import pytest
import small_case

from scoping import notify

EXPECTED_FR = {
    # listed only
    "A": "Votre nom a été affiché le 10 novembre 2025 à 19 h 00 (heure de Paris) à une personne qui n'avait pas le "
         "droit d'y accéder, dans une liste de résultats de recherche. Votre dossier lui-même n'a pas été ouvert.",
    # viewed, and the name in an exported list: the export is of the list, not of the notes
    "B": "Votre dossier médical a été ouvert le 10 novembre 2025 à 19 h 05 (heure de Paris) par une personne qui "
         "n'avait pas le droit d'y accéder. Il affichait : les notes de consultation. Des copies ont été faites le "
         "10 novembre 2025 à 19 h 32 (heure de Paris) — exporté : votre nom dans une liste.",
    # downloaded without a view
    "C": "Votre dossier médical a été ouvert le 10 novembre 2025 à 19 h 10 (heure de Paris) par une personne qui "
         "n'avait pas le droit d'y accéder. Des copies ont été faites au même moment — téléchargé : des documents "
         "(courriers, comptes rendus).",
    # modified with its item
    "D": "Votre dossier médical a été ouvert le 10 novembre 2025 entre 19 h 15 et 19 h 16 (heure de Paris) par une "
         "personne qui n'avait pas le droit d'y accéder. Il affichait : les notes de consultation. Votre dossier a "
         "aussi été modifié — modifié : une note de consultation le 10 novembre 2025 à 19 h 16 (heure de Paris). "
         "Votre cabinet vérifiera ces éléments avec vous.",
    # viewed only
    "E": "Votre dossier médical a été ouvert le 10 novembre 2025 entre 19 h 20 et 19 h 25 (heure de Paris) par une "
         "personne qui n'avait pas le droit d'y accéder. Il affichait : les notes de consultation, les ordonnances "
         "et les résultats d'analyses.",
    "F": "Votre dossier médical a été ouvert entre le 10 novembre 2025 à 23 h 50 et le 11 novembre 2025 à 0 h 20 "
         "(heure de Paris) par une personne qui n'avait pas le droit d'y accéder. Il affichait : les notes de "
         "consultation et les résultats d'analyses.",
    # listed, then opened
    "I": "Votre nom a été affiché le 10 novembre 2025 à 19 h 00 (heure de Paris) à une personne qui n'avait pas le "
         "droit d'y accéder, dans une liste de résultats de recherche. Votre dossier médical a été ouvert le 10 "
         "novembre 2025 à 19 h 45 (heure de Paris) par une personne qui n'avait pas le droit d'y accéder. Il "
         "affichait : les notes de consultation.",
    # an item added, nothing viewed
    "K": "Votre dossier médical a été ouvert le 10 novembre 2025 à 19 h 50 (heure de Paris) par une personne qui "
         "n'avait pas le droit d'y accéder. Votre dossier a aussi été modifié — ajouté : une ordonnance le 10 "
         "novembre 2025 à 19 h 50 (heure de Paris). Votre cabinet vérifiera ces éléments avec vous.",
    # only in an exported list: never told the record was opened
    "L": "Des copies ont été faites le 10 novembre 2025 à 19 h 32 (heure de Paris) par une personne qui n'avait pas "
         "le droit d'y accéder — exporté : votre nom dans une liste. Votre dossier lui-même n'a pas été ouvert.",
    # several copy verbs
    "M": "Votre dossier médical a été ouvert le 10 novembre 2025 à 19 h 31 (heure de Paris) par une personne qui "
         "n'avait pas le droit d'y accéder. Des copies ont été faites le 10 novembre 2025 entre 19 h 31 et 19 h 32 "
         "(heure de Paris) — imprimé : la synthèse de votre dossier ; exporté : votre nom dans une liste.",
    # one category copied while others were viewed
    "N": "Votre dossier médical a été ouvert le 10 novembre 2025 entre 19 h 55 et 19 h 57 (heure de Paris) par une "
         "personne qui n'avait pas le droit d'y accéder. Il affichait : les notes de consultation et les résultats "
         "d'analyses. Des copies ont été faites le 10 novembre 2025 à 19 h 57 (heure de Paris) — téléchargé : des "
         "documents (courriers, comptes rendus).",
    # listed, then an access refused
    "R": "Votre nom a été affiché le 10 novembre 2025 à 19 h 00 (heure de Paris) à une personne qui n'avait pas le "
         "droit d'y accéder, dans une liste de résultats de recherche. Une tentative d'accès à votre dossier le 10 "
         "novembre 2025 à 19 h 58 (heure de Paris) a été bloquée. Votre dossier lui-même n'a pas été ouvert.",
    # an undetermined segment, counted
    "U": "Votre dossier médical a été ouvert le 10 novembre 2025 à 20 h 00 (heure de Paris) par une personne que "
         "nous n'avons pas pu identifier avec certitude. Il affichait : les notes de consultation. Nous ne pouvons "
         "pas être certains qu'il ne s'agissait pas de votre praticien ou d'un membre du personnel de votre "
         "cabinet : nous vous en informons par précaution.",
    # opened by the attacker, then again by an undetermined segment: each told apart
    "V": "Votre dossier médical a été ouvert le 10 novembre 2025 à 19 h 40 (heure de Paris) par une personne qui "
         "n'avait pas le droit d'y accéder. Il affichait : les notes de consultation. D'autres accès à votre dossier "
         "ont eu lieu le 10 novembre 2025 à 20 h 01 (heure de Paris), par une personne que nous n'avons pas pu "
         "identifier avec certitude. Ces accès ont affiché : les notes de consultation. Nous ne pouvons pas être "
         "certains qu'il ne s'agissait pas de votre praticien ou d'un membre du personnel de votre cabinet : nous "
         "vous en informons par précaution.",
    "G": "Votre dossier médical a été ouvert le 26 octobre 2025 entre 1 h 30 et 12 h 00 (heure de Paris) par une "
         "personne qui n'avait pas le droit d'y accéder. Il affichait : les notes de consultation.",
}
EXPECTED_EN = {
    "A": "Your name appeared on 10 November 2025 at 19:00 (Paris time) in a list of search results seen by a "
         "person who had no right to see it. Your record itself was not opened.",
    "B": "Your medical record was opened on 10 November 2025 at 19:05 (Paris time) by a person who had no right to "
         "see it. It showed: consultation notes. Copies were made on 10 November 2025 at 19:32 (Paris time) — "
         "exported: your name in a list.",
    "C": "Your medical record was opened on 10 November 2025 at 19:10 (Paris time) by a person who had no right to "
         "see it. Copies were made at the same time — downloaded: documents (letters, reports).",
    "D": "Your medical record was opened on 10 November 2025 between 19:15 and 19:16 (Paris time) by a person "
         "who had no right to see it. It showed: consultation notes. Your record was also changed — changed: a "
         "consultation note on 10 November 2025 at 19:16 (Paris time). Your practice will check these items with "
         "you.",
    "E": "Your medical record was opened on 10 November 2025 between 19:20 and 19:25 (Paris time) by a person "
         "who had no right to see it. It showed: consultation notes, prescriptions and laboratory results.",
    "F": "Your medical record was opened between 10 November 2025 at 23:50 and 11 November 2025 at 00:20 "
         "(Paris time) by a person who had no right to see it. It showed: consultation notes and laboratory "
         "results.",
    "I": "Your name appeared on 10 November 2025 at 19:00 (Paris time) in a list of search results seen by a "
         "person who had no right to see it. Your medical record was opened on 10 November 2025 at 19:45 (Paris "
         "time) by a person who had no right to see it. It showed: consultation notes.",
    "K": "Your medical record was opened on 10 November 2025 at 19:50 (Paris time) by a person who had no right to "
         "see it. Your record was also changed — added: a prescription on 10 November 2025 at 19:50 (Paris time). "
         "Your practice will check these items with you.",
    "L": "Copies were made on 10 November 2025 at 19:32 (Paris time) by a person who had no right to see it — "
         "exported: your name in a list. Your record itself was not opened.",
    "M": "Your medical record was opened on 10 November 2025 at 19:31 (Paris time) by a person who had no right to "
         "see it. Copies were made on 10 November 2025 between 19:31 and 19:32 (Paris time) — printed: the summary "
         "of your record; exported: your name in a list.",
    "N": "Your medical record was opened on 10 November 2025 between 19:55 and 19:57 (Paris time) by a person who "
         "had no right to see it. It showed: consultation notes and laboratory results. Copies were made on 10 "
         "November 2025 at 19:57 (Paris time) — downloaded: documents (letters, reports).",
    "R": "Your name appeared on 10 November 2025 at 19:00 (Paris time) in a list of search results seen by a "
         "person who had no right to see it. An attempt to reach your record on 10 November 2025 at 19:58 (Paris "
         "time) was blocked. Your record itself was not opened.",
    "U": "Your medical record was opened on 10 November 2025 at 20:00 (Paris time) by someone we could not "
         "identify with certainty. It showed: consultation notes. We cannot be sure that this was not your "
         "practitioner or a member of your practice's staff: we are telling you as a precaution.",
    "V": "Your medical record was opened on 10 November 2025 at 19:40 (Paris time) by a person who had no right to "
         "see it. It showed: consultation notes. Other accesses to your record took place on 10 November 2025 at "
         "20:01 (Paris time), by someone we could not identify with certainty. These accesses showed: consultation "
         "notes. We cannot be sure that this was not your practitioner or a member of your practice's staff: we are "
         "telling you as a precaution.",
    "G": "Your medical record was opened on 26 October 2025 between 01:30 and 12:00 (Paris time) by a person who "
         "had no right to see it. It showed: consultation notes.",
}
ATTEMPTED_EN = ("Someone without the right to do so tried to open your medical record on 10 November 2025 at 19:30 "
                "(Paris time). The attempt was blocked: nothing from your record was shown.")


@pytest.fixture
def scoped(tmp_path):
    case = small_case.build(tmp_path)
    result = case.scope()
    case.publish(result)
    yield case, result
    case.close()


def write_kits(case, result, *, lang, **options):
    case.notify(result, lang=lang, **options)
    return KitFolder(case.out, lang, result.practice_files)


class KitFolder:
    """The kits of one language: kit_folder / practice_id is the folder of that practice's kit."""

    def __init__(self, out, lang, names):
        self.root, self.names = out / "notify" / lang, names

    def __truediv__(self, practice):
        return self.root / self.names[practice]


def _rows(path, delimiter=","):
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig")), delimiter=delimiter))


def _letters(folder, practice):
    return {r["patient_id"]: r for r in _rows(folder / practice / "letters.csv")}


@pytest.mark.parametrize(("lang", "expected"), [("fr", EXPECTED_FR), ("en", EXPECTED_EN)])
def test_sentences_say_what_happened_to_each_record(scoped, lang, expected):
    case, result = scoped
    root = write_kits(case, result, lang=lang)
    got = {**_letters(root, "P1"), **_letters(root, "P2")}
    assert {p: got[p]["message"] for p in expected} == expected


def test_a_patient_of_two_practices_gets_the_same_letter_in_both(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="fr")
    assert _letters(root, "P1")["M"]["message"] == _letters(root, "P2")["M"]["message"] == EXPECTED_FR["M"]


def test_french_excel_variant_has_french_titles_and_local_times(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="fr")
    raw = (root / "P1" / "letters_excel.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = _rows(root / "P1" / "letters_excel.csv", ";")
    assert list(rows[0])[:8] == ["patient", "statut", "exposition", "dossier modifié", "attribution",
                                 "premier accès (Europe/Paris)", "dernier accès (Europe/Paris)", "texte pour la lettre"]
    by_id = {r["patient"]: r for r in rows}
    assert by_id["F"]["premier accès (Europe/Paris)"] == "2025-11-10 23:50:00"
    assert by_id["F"]["dernier accès (Europe/Paris)"] == "2025-11-11 00:20:00"
    assert by_id["D"]["dossier modifié"] == "oui" and by_id["D"]["exposition"] == "dossier ouvert"
    assert by_id["U"]["attribution"].startswith("non attribué avec certitude")
    assert {p: r["texte pour la lettre"] for p, r in by_id.items()} == {
        k: v["message"] for k, v in _letters(root, "P1").items()}


def test_each_patient_once_in_its_practices_kits_only(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="en")
    p1, p2 = _letters(root, "P1"), _letters(root, "P2")
    assert sorted(p1) == ["A", "B", "C", "D", "E", "F", "I", "K", "L", "M", "N", "R", "U", "V"]
    assert sorted(p2) == ["G", "M"]
    attempted = _rows(root / "P2" / "attempted.csv")
    assert [(r["patient_id"], r["message"]) for r in attempted] == [("H", ATTEMPTED_EN)]


def test_attempted_are_off_by_default_and_a_switch_includes_them(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="en", include_attempted=True)
    rows = _letters(root, "P2")
    assert rows["H"]["status"] == "attempted" and rows["H"]["message"] == ATTEMPTED_EN


def test_detail_file_has_one_row_per_counted_access_with_account_labels(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="fr")
    detail = _rows(root / "P1" / "detail.csv")
    mine = result.accesses.filter(pl.col("practice_id") == "P1")
    assert len(detail) == mine.height
    assert [(r["patient_id"], r["event_key"], r["ts_utc"]) for r in detail] == \
        mine.select("patient_id", "event_key", "ts_utc").rows()
    r_rows = [r for r in detail if r["patient_id"] == "R"]
    assert [(r["action"], r["outcome"]) for r in r_rows] == [("search", "success"), ("view", "failure")]
    # drX belongs to another practice: a neutral number; drY is this practice's own account: its id
    assert {r["account"] for r in detail if r["patient_id"] not in "UV"} == {"compte 1"}
    assert [r["account"] for r in detail if r["patient_id"] in "UV"] == ["drY", "compte 1", "drY"]
    assert detail[0]["time_local"] == "2025-11-10T19:00:00+01:00"
    human = _rows(root / "P1" / "detail_excel.csv", ";")
    assert list(human[0]) == ["patient", "heure (Europe/Paris)", "action", "données", "type d'élément",
                              "identifiant de l'élément", "résultat", "compte", "attribution",
                              "référence dans le journal", "heure UTC"]
    assert human[0]["heure UTC"] == "2025-11-10 18:00:00"
    assert {(r["action"], r["résultat"]) for r in human if r["patient"] == "R"} == {
        ("recherche", "réussi"), ("consultation", "refusé")}
    p2 = _rows(root / "P2" / "detail.csv")
    assert {r["patient_id"] for r in p2} == {"G", "H", "M"}  # the refused access of H is in its practice's detail


def test_xlsx_is_a_spreadsheet_a_secretary_can_use(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="fr")
    wb = openpyxl.load_workbook(root / "P2" / "letters.xlsx")
    assert wb.sheetnames == ["patients", "détail des accès", "tentatives"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(ws.max_column)}{ws.max_row}"
        assert all(c.font.bold for c in ws[1])
        assert all((ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width or 0) >= 8
                   for i in range(1, ws.max_column + 1))
    ws = wb["patients"]
    header = [c.value for c in ws[1]]
    assert header[5] == "premier accès (Europe/Paris)"
    first = ws.cell(row=2, column=6)
    assert isinstance(first.value, datetime) and first.number_format == notify.DATETIME_FORMAT
    assert first.value == datetime(2025, 10, 26, 1, 30)  # G, local time
    assert ws.column_dimensions["F"].width >= len(notify.DATETIME_FORMAT)
    rows = [dict(zip(header, [c.value for c in r], strict=True)) for r in ws.iter_rows(min_row=2)]
    assert {r["patient"]: r["texte pour la lettre"] for r in rows} == {
        k: v["message"] for k, v in _letters(root, "P2").items()}
    detail = wb["détail des accès"]
    assert detail.cell(row=1, column=2).value == "heure (Europe/Paris)"
    assert isinstance(detail.cell(row=2, column=2).value, datetime)
    assert detail.max_row - 1 == result.accesses.filter(pl.col("practice_id") == "P2").height


def test_directory_contacts_are_joined_and_the_unreachable_listed(scoped, tmp_path):
    case, result = scoped
    directory = tmp_path / "dir.csv"
    directory.write_text("patient_id,name,email\nA,Alice Martin,alice@example.org\nC,Claire Roux,\n")
    root = write_kits(case, result, lang="en", practices=["P1"], directory=directory)
    rows = _letters(root, "P1")
    assert rows["A"]["name"] == "Alice Martin" and rows["A"]["in_directory"] == "true"
    assert rows["A"]["has_contact"] == "true" and rows["C"]["has_contact"] == "false"
    assert rows["B"]["name"] == "" and rows["B"]["in_directory"] == "false"
    missing = {r["patient_id"]: r["reason"] for r in _rows(root / "P1" / "contacts_missing.csv")}
    assert missing["C"] == "no contact details in the directory"
    assert missing["B"] == "not in the patient directory" and "A" not in missing
    assert len(missing) == len(rows) - 1
    sheet = json.loads((root / "P1" / "summary.json").read_text())
    (content,) = sheet.values()
    assert content["People concerned"]["patients without contact details in the directory"] == len(missing)
    example = (root / "P1" / "example_letter.md").read_text()
    assert "Alice Martin" in example and EXPECTED_EN["A"] in example
    wb = openpyxl.load_workbook(root / "P1" / "letters.xlsx")
    assert wb["no contact details"].max_row - 1 == len(missing)


def test_a_hostile_directory_neither_breaks_nor_injects(scoped, tmp_path):
    case, result = scoped
    directory = tmp_path / "dir.csv"
    directory.write_bytes("\ufeffpatient_id;name;message;phone\r\n"
                          "A;=HYPERLINK(\"http://x\");\"evil\x07bell\";+33 1 23 45 67 89\r\n"
                          "A;Second Alice;;0102\r\n"
                          "B;\"Line\nbreak\x1b[2J\";;\r\n"
                          "C;@SUM(1);;+1+cmd|' /C calc'!A0\r\n".encode())
    root = write_kits(case, result, lang="fr", practices=["P1"], directory=directory)
    rows = _letters(root, "P1")
    assert rows["A"]["name"] == "'=HYPERLINK(\"http://x\")"           # a formula is shown, never run
    assert rows["A"]["directory_message"] == "evil\u2407bell"         # a clashing column keeps its value, renamed
    assert rows["A"]["phone"] == "+33 1 23 45 67 89"                  # a phone number is not a formula
    assert rows["C"]["phone"] == "'+1+cmd|' /C calc'!A0" and rows["C"]["name"] == "'@SUM(1)"
    assert rows["A"]["message"] == EXPECTED_FR["A"]
    assert rows["B"]["name"] == "Line\nbreak\u241b[2J"                # a line break stays, an escape is shown
    missing = {r["patient_id"]: r["reason"] for r in _rows(root / "P1" / "contacts_missing.csv")}
    assert missing["A"] == "plusieurs fiches dans l'annuaire (la première est utilisée)"
    assert missing["B"] == "aucune coordonnée dans l'annuaire"
    wb = openpyxl.load_workbook(root / "P1" / "letters.xlsx")
    cell = wb["patients"][2][8]
    assert (cell.value, cell.data_type) == ("=HYPERLINK(\"http://x\")", "s")  # a string cell: shown, never run


def test_regulator_sheet_counts_and_fields_to_complete(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="en")
    sheet = json.loads((root / "P1" / "summary.json").read_text())
    (title,) = sheet
    assert title == "Personal data breach notification sheet: practice P1"
    people = sheet[title]["People concerned"]
    assert people["patients affected"] == 14
    assert people["name shown in a list only"] == 2 and people["record changed"] == 2
    assert people["affected only by activity not attributed with certainty"] == 1
    assert sheet[title]["Nature of the breach"]["type of breach"] == "confidentiality and integrity"
    assert sheet[title]["Data controller (the practice)"]["data protection officer (contact)"].startswith(
        "[TO BE COMPLETED")
    assert sheet[title]["Accounts used"]["compromised accounts that reached these patients"] == [
        "account 1", "drY (an account of this practice)"]
    md = (root / "P1" / "summary.md").read_text()
    assert "## To be completed by the practice" in md


def test_regulator_sheet_states_activity_from_the_summary(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="fr")
    sheet = json.loads((root / "P1" / "summary.json").read_text())
    dates = next(iter(sheet.values()))["Dates"]
    attacker = dates["activité de la personne non autorisée (tous cabinets)"]
    undetermined = dates["activité non attribuée avec certitude (tous cabinets)"]
    assert result.summary["activity"]["attacker"]["last_activity_utc"] == "2025-11-10T23:20:00+00:00"
    assert "dernière action le 11 novembre 2025 à 0 h 20 (heure de Paris)" in attacker
    assert "première action le 10 novembre 2025 à 20 h 00 (heure de Paris)" in undetermined
    assert undetermined.endswith("comptée dans les listes, par précaution")


def test_kits_are_deterministic_bytes(scoped):
    _, result = scoped
    first = notify.kit_files(result, lang="fr")
    assert first == notify.kit_files(result, lang="fr")
    assert set(first) == {"P1", "P2", "P3"}


def test_a_practice_whose_patients_were_only_attempted_gets_a_kit(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="en")
    assert _letters(root, "P3") == {}
    assert [r["patient_id"] for r in _rows(root / "P3" / "attempted.csv")] == ["Q"]
    assert [(r["patient_id"], r["outcome"]) for r in _rows(root / "P3" / "detail.csv")] == [("Q", "failure")]
    (content,) = json.loads((root / "P3" / "summary.json").read_text()).values()
    assert content["People concerned"]["patients affected"] == 0
    assert content["People concerned"]["blocked attempt only (not counted above)"] == 1
    assert content["Nature of the breach"]["categories of data"] == "health data (GDPR Art. 9): none"
    assert content["Dates"]["first access to a patient of this practice"] == "none"
    root = write_kits(case, result, lang="en", include_attempted=True)
    assert _letters(root, "P3")["Q"]["status"] == "attempted"
    assert (root / "P3" / "example_letter.md").is_file()


def test_a_table_longer_than_a_worksheet_goes_on_over_several():
    from scoping.writers import Sheet, xlsx_bytes

    table = pl.DataFrame({"n": list(range(5))})
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([Sheet("détail/accès", table)], rows_per_sheet=2)))
    assert wb.sheetnames == ["détail_accès", "détail_accès 2", "détail_accès 3"]
    assert [[c.value for c in ws["A"]] for ws in wb.worksheets] == [["n", 0, 1], ["n", 2, 3], ["n", 4]]
