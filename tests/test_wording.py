"""The wording tables: complete as shipped, overridable by a case key by key, and a typo is a clear error."""

from __future__ import annotations

import ast
import csv
import io
import string
from datetime import UTC, datetime
from importlib import resources

import pytest
import small_case

from scoping import cli, notify, wording
from scoping.errors import ConfigError
from scoping.phrasing import Acts, Facts, Phrasing, Span

WORDING = '\n[notify]\nwording_dir = "wording"\n'


def _placeholders(text) -> set[str]:
    if isinstance(text, list):
        return set()
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_shipped_tables_are_complete_and_use_the_same_placeholders():
    fr, en = wording.load("fr"), wording.load("en")
    for table, keys in wording.SPEC.items():
        assert set(fr.tables[table]) == set(en.tables[table]) == set(keys), table
        for key in keys:
            assert _placeholders(fr.tables[table][key]) == _placeholders(en.tables[table][key]), (table, key)


def _string_literals(source: str) -> list[str]:
    """The string constants of a module, docstrings left out."""
    tree = ast.parse(source)
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def test_no_wording_is_left_in_python():
    """Every sentence the kits show comes from the tables: none of their words is a string in the modules."""
    shown = set()
    for lang in ("fr", "en"):
        for table in wording.load(lang).tables.values():
            shown |= {v for v in table.values() if isinstance(v, str) and len(v) > 12}
    for module in ("notify", "phrasing", "regulator", "kit_tables", "wording"):
        source = (resources.files("scoping") / f"{module}.py").read_text(encoding="utf-8")
        keys = set(wording.SPEC) | {k for t in wording.SPEC.values() for k in t}
        for literal in (s for s in _string_literals(source) if s not in keys):
            assert not any(text in literal for text in shown), (module, literal)
            for phrase in ("COMPLÉTER", "COMPLETED", "Nature of", "health data", "données de santé",
                           "confidentialité", "was opened", "a été ouvert", "heure de", "time)"):
                assert phrase not in literal, (module, literal)


@pytest.fixture
def case_with_wording(tmp_path):
    case = small_case.build(tmp_path, extra_toml=WORDING)
    (tmp_path / "wording").mkdir()
    yield case, case.scope(), tmp_path / "wording"
    case.close()


def _messages(case, lang="fr", practice="P1"):
    path = case.out / "notify" / lang / practice / "letters.csv"
    return {r["patient_id"]: r["message"] for r in csv.DictReader(io.StringIO(path.read_text()))}


def test_a_case_overrides_the_shipped_wording_key_by_key(case_with_wording):
    case, result, folder = case_with_wording
    (folder / "wording_fr.toml").write_text('[letter]\nseen = "On y voyait : {categories}."\n'
                                            '[categories]\nclinical_note = "vos notes"\n')
    case.notify(result, lang="fr")
    got = _messages(case)
    assert got["E"].endswith("On y voyait : vos notes, les ordonnances et les résultats d'analyses.")
    assert got["A"].startswith("Votre nom a été affiché")  # every other key as shipped


def test_a_case_can_replace_the_letter_and_add_a_language(case_with_wording):
    case, result, folder = case_with_wording
    (folder / "letter_fr.md").write_text("Cher {patient_name},\n\n{sentence}\n")
    en = (resources.files("scoping") / "templates" / "wording_en.toml").read_text(encoding="utf-8")
    (folder / "wording_xx.toml").write_text(en.replace("Your medical record was opened", "Record opened"))
    (folder / "letter_xx.md").write_text("Hello {patient_name}: {sentence}\n")
    case.notify(result, lang="fr")
    case.notify(result, lang="xx")
    assert (case.out / "notify" / "fr" / "P1" / "example_letter.md").read_text().startswith("Cher A,")
    assert (case.out / "notify" / "fr" / "P1" / "letters.csv").is_file()  # both languages side by side
    assert _messages(case, "xx")["E"].startswith("Record opened on 10 November 2025")
    assert (case.out / "notify" / "xx" / "P1" / "letter_template.md").read_text().startswith("Hello")


BROKEN = [
    ('[categories]\nclinical_notes = "x"\n', "unknown key 'clinical_notes' in [categories]",
     "did you mean 'clinical_note'?"),
    ('[categorie]\nclinical_note = "x"\n', "unknown table [categorie]", "did you mean 'categories'?"),
    ('[letter]\nseen = "Il affichait : {categorie}."\n', "[letter] seen uses the placeholder {categorie}",
     "did you mean 'categories'?"),
    ('[letter]\nnot_opened = "Pas ouvert {when}."\n', "[letter] not_opened uses the placeholder {when}",
     "takes no placeholder"),
    ('[letter]\nseen = "Il affichait : {categories."\n', "[letter] seen has a brace that does not close", "{{"),
    ('[time]\nmonths = ["janvier"]\n', "[time] months must be a list of 12 texts", None),
    ('[values]\nyes = 1\n', "[values] yes must be a text in quotes", None),
    ('[letter\nseen = "x"\n', "is not valid TOML", None),
    ('[time]\nclock = "{hour:02q}"\n', "[time] clock cannot be filled in", None),
]


@pytest.mark.parametrize(("text", "message", "hint"), BROKEN)
def test_a_typo_in_a_wording_table_is_a_clear_error(case_with_wording, text, message, hint):
    case, result, folder = case_with_wording
    (folder / "wording_fr.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        case.notify(result, lang="fr")
    assert "wording/wording_fr.toml" in str(info.value) and message in info.value.message
    if hint:
        assert hint in (info.value.hint or "")


def test_a_new_language_must_be_complete(case_with_wording):
    case, result, folder = case_with_wording
    (folder / "wording_xx.toml").write_text('[letter]\nseen = "x {categories}"\n')
    (folder / "letter_xx.md").write_text("{sentence}\n")
    with pytest.raises(ConfigError, match=r"wording/wording_xx.toml: missing key\(s\) in \[time\]"):
        case.notify(result, lang="xx")


def test_letter_placeholders_and_missing_tables_are_clear_errors(case_with_wording):
    case, result, folder = case_with_wording
    (folder / "letter_fr.md").write_text("Bonjour {patient},\n{sentence}\n")
    with pytest.raises(ConfigError, match=r"letter template wording/letter_fr.md uses the placeholder \{patient\}"):
        case.notify(result, lang="fr")
    with pytest.raises(ConfigError, match="no wording for language 'de'"):
        case.notify(result, lang="de")
    (folder / "letter_fr.md").unlink()
    folder.rmdir()
    with pytest.raises(ConfigError, match=r"wording folder wording named in case\.toml"):
        case.notify(result, lang="fr")


def test_the_command_line_prints_a_wording_typo_without_a_traceback(case_with_wording, capsys):
    case, _, folder = case_with_wording
    case.close()
    (folder / "wording_fr.toml").write_text('[copy_verbs]\ndownlaod = "x"\n')
    code = cli.main(["notify", str(case.root), "--lang", "fr"])
    err = capsys.readouterr().err
    assert code == ConfigError.exit_code
    assert "Traceback" not in err and "unknown key 'downlaod' in [copy_verbs]" in err and "'download'" in err


def test_settings_of_the_wrong_type_are_clear_errors(case_with_wording):
    _, result, _ = case_with_wording
    with pytest.raises(ConfigError, match=r"\[notify\] measures must be a text"):
        notify.kit_files(result, settings={"measures": 3})
    with pytest.raises(ConfigError, match=r"\[notify\] contact_columns must be a list"):
        notify.kit_files(result, settings={"contact_columns": "email"})


def test_a_category_the_wording_does_not_know_is_told_as_other_information():
    phr = Phrasing(wording.load("fr"), "Europe/Paris")
    t = datetime(2025, 11, 1, 9, 5, tzinfo=UTC)
    text = phr.letter(Facts(attacker=Acts(Span(t, t), record=Span(t, t), seen=("clinical_note", "brand_new_category"))))
    assert "Il affichait : les notes de consultation et d'autres informations." in text
    assert "le 1er novembre 2025 à 10 h 05 (heure de Paris)" in text
