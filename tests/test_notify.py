"""Notification kits: each patient once, in the right practice's kit, with sentences that say what happened."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest

from scoping import Case

LOG = """id,t,u,a,p,r
1,2025-11-10 19:00:00,drX,SEARCH,A,OK
2,2025-11-10 19:05:00,drX,NOTE,B,OK
3,2025-11-10 19:10:00,drX,DOC,C,OK
4,2025-11-10 19:15:00,drX,NOTE,D,OK
5,2025-11-10 19:16:00,drX,EDIT,D,OK
6,2025-11-10 19:20:00,drX,NOTE,E,OK
7,2025-11-10 19:22:00,drX,LAB,E,OK
8,2025-11-10 19:25:00,drX,RX,E,OK
9,2025-11-10 23:50:00,drX,NOTE,F,OK
10,2025-11-11 00:20:00,drX,LAB,F,OK
11,2025-10-26 01:30:00,drX,NOTE,G,OK
12,2025-10-26 12:00:00,drX,NOTE,G,OK
13,2025-11-10 19:30:00,drX,NOTE,H,DENIED
14,2025-11-10 19:31:00,drX,PRINT,M,OK
15,2025-11-10 19:32:00,drX,EXPORT,M;B,OK
"""
SOURCE = """
[sources.app]
format = "csv"
files = ["log.csv"]
ts_format = "%Y-%m-%d %H:%M:%S"
timezone = "Europe/Paris"
patient_separator = ";"
[sources.app.columns]
event_key = "id"
ts = "t"
account_id = "u"
action = "a"
category = "a"
patient_id = "p"
outcome = "r"
[sources.app.maps.action]
SEARCH = "search"
NOTE = "view"
LAB = "view"
RX = "view"
DOC = "download"
EDIT = "update"
PRINT = "print"
EXPORT = "export"
[sources.app.maps.category]
SEARCH = "patient_list"
NOTE = "clinical_note"
LAB = "lab_result"
RX = "prescription"
DOC = "document"
EDIT = "clinical_note"
PRINT = "full_record"
EXPORT = "patient_list"
[sources.app.maps.outcome]
OK = "success"
DENIED = "failure"
[reference.accounts]
file = "accounts.csv"
timezone = "Europe/Paris"
[reference.patients]
file = "patients.csv"
[incident]
name = "test"
timezone = "Europe/Paris"
windows = [["2025-10-25 00:00", "2025-11-12 00:00"]]
compromised_accounts = ["drX"]
"""
PATIENTS = "patient_id,practice_id\nA,P1\nB,P1\nC,P1\nD,P1\nE,P1\nF,P1\nG,P2\nH,P2\nM,P2\nM,P1\n"

EXPECTED_EN = {
    "A": "Your name appeared on 10 November 2025 at 19:00 (Paris time) in a list of search results seen by a "
         "person who had no right to see it. Your record itself was not opened.",
    "B": "Your medical record was opened between 10 November 2025 at 19:05 and ... ",  # replaced below
    "C": "Your medical record was opened on 10 November 2025 at 19:10 (Paris time) by a person who had no right "
         "to see it, who also downloaded a copy of: documents (letters, reports).",
    "D": "Your medical record was opened on 10 November 2025 between 19:15 and 19:16 (Paris time) by a person "
         "who had no right to see it. It showed: consultation notes. Something in your record was also changed. "
         "Your practice will check it with you.",
    "E": "Your medical record was opened on 10 November 2025 between 19:20 and 19:25 (Paris time) by a person "
         "who had no right to see it. It showed: consultation notes, laboratory results and prescriptions.",
    "F": "Your medical record was opened between 10 November 2025 at 23:50 and 11 November 2025 at 00:20 "
         "(Paris time) by a person who had no right to see it. It showed: consultation notes and laboratory "
         "results.",
    "G": "Your medical record was opened on 26 October 2025 between 01:30 and 12:00 (Paris time) by a person "
         "who had no right to see it. It showed: consultation notes.",
    "M": "Your medical record was opened on 10 November 2025 between 19:31 and 19:32 (Paris time) by a person "
         "who had no right to see it, who also printed and exported a copy of: the summary of your record.",
}
EXPECTED_EN["B"] = ("Your medical record was opened on 10 November 2025 between 19:05 and 19:32 (Paris time) by a "
                    "person who had no right to see it, who also exported a copy of: consultation notes.")
EXPECTED_FR_F = ("Votre dossier médical a été ouvert entre le 10 novembre 2025 à 23 h 50 et le 11 novembre 2025 "
                 "à 0 h 20 (heure de Paris) par une personne qui n'avait pas le droit de le consulter. Il affichait : "
                 "les notes de consultation et les résultats d'analyses.")


@pytest.fixture
def scoped(tmp_path):
    (tmp_path / "log.csv").write_text(LOG)
    (tmp_path / "accounts.csv").write_text("account_id,practice_id,active_until\ndrX,P9,2025-01-01\n")
    (tmp_path / "patients.csv").write_text(PATIENTS)
    (tmp_path / "case.toml").write_text(SOURCE)
    case = Case.open(tmp_path)
    case.ingest(progress=False)
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


def _letters(folder, practice):
    return {r["patient_id"]: r for r in csv.DictReader(io.StringIO((folder / practice / "letters.csv").read_text()))}


def test_sentences_say_what_happened_to_each_record(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="en")
    got = {**_letters(root, "P1"), **_letters(root, "P2")}
    for patient, sentence in EXPECTED_EN.items():
        assert got[patient]["message"] == sentence, patient


def test_french_wording_and_excel_variant_round_trip(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="fr")
    assert _letters(root, "P1")["F"]["message"] == EXPECTED_FR_F
    raw = (root / "P1" / "letters_excel.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert {r["patient_id"]: r["message"] for r in rows} == {k: v["message"] for k, v in _letters(root, "P1").items()}


def test_each_patient_once_in_its_practices_kits_only(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="en")
    p1, p2 = _letters(root, "P1"), _letters(root, "P2")
    assert sorted(p1) == ["A", "B", "C", "D", "E", "F", "M"]
    assert sorted(p2) == ["G", "M"]
    attempted = list(csv.DictReader(io.StringIO((root / "P2" / "attempted.csv").read_text())))
    assert [r["patient_id"] for r in attempted] == ["H"]
    assert "blocked" in attempted[0]["message"]


def test_attempted_are_off_by_default_and_a_switch_includes_them(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="en", include_attempted=True)
    rows = _letters(root, "P2")
    assert rows["H"]["status"] == "attempted"


def test_xlsx_holds_the_same_rows_as_the_csv(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="en")
    wb = openpyxl.load_workbook(root / "P1" / "letters.xlsx")
    ws = wb["patients"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in r], strict=True)) for r in ws.iter_rows(min_row=2)]
    csv_rows = _letters(root, "P1")
    assert {r["patient_id"]: r["message"] for r in rows} == {k: v["message"] for k, v in csv_rows.items()}


def test_directory_contacts_are_joined_never_required(scoped, tmp_path):
    case, result = scoped
    directory = tmp_path / "dir.csv"
    directory.write_text("patient_id,name,email\nA,Alice Martin,alice@example.org\n")
    root = write_kits(case, result, lang="en", practices=["P1"], directory=directory)
    rows = _letters(root, "P1")
    assert rows["A"]["name"] == "Alice Martin" and rows["A"]["in_directory"] == "true"
    assert rows["B"]["name"] == "" and rows["B"]["in_directory"] == "false"
    example = (root / "P1" / "example_letter.md").read_text()
    assert "Alice Martin" in example and EXPECTED_EN["A"] in example


def test_regulator_sheet_counts_and_fields_to_complete(scoped):
    case, result = scoped
    root = write_kits(case, result, lang="en")
    sheet = json.loads((root / "P1" / "summary.json").read_text())
    assert sheet["patients"]["affected"] == 7
    assert sheet["patients"]["listed_only"] == 1 and sheet["patients"]["record_modified"] == 1
    assert sheet["nature"]["type"] == ["confidentiality", "integrity"]
    assert sheet["to_complete"]["dpo_contact"].startswith("[TO BE COMPLETED")
    md = (root / "P1" / "summary.md").read_text()
    assert "To be completed by the practice" in md
