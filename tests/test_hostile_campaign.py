"""Robustness campaign: hostile files against every entry point (logs of each format, case.toml, the incident,
reference tables, the outputs folder, a second process). In every case: a clear message naming what is wrong,
a distinct exit code, no traceback for a user error, no half-written store, every line accounted for.

The hand-made corpus is written by `CORPUS` below (small, readable); large files (a 100 MB line) are made at
test time and never committed.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from helpers import csv_case
from ingest_helpers import query

from scoping import cli
from scoping.errors import ConfigError, InputError, IntegrityError

JSON_SOURCE = """
[sources.api]
format = "jsonl"
files = ["logs/*"]
max_quarantined_share = 1
[sources.api.columns]
ts = "when"
account_id = "who"
patient_id = "patient"
"""
INCIDENT = """
[incident]
name = "campaign"
timezone = "Europe/Paris"
windows = [["2025-11-10 00:00", "2025-11-11 00:00"]]
compromised_accounts = ["'; DROP TABLE events; --"]
"""
ACCOUNTS = 'account_id,practice_id,active_until\n"\'; DROP TABLE events; --",PR1,2025-01-01\n'
PATIENTS = 'patient_id,practice_id\n"P\'1",PR1\nP;2,PR1\n"P/*3*/",PR1\n' + "x" * 10_000 + ",PR1\n"


def _line(**kw: object) -> bytes:
    rec = {"when": "2025-11-10T18:00:00Z", "who": "'; DROP TABLE events; --", "patient": "P'1", **kw}
    return json.dumps(rec).encode()


CORPUS: dict[str, bytes] = {
    "sql-in-values.jsonl": b"\n".join([_line(), _line(patient="P;2"), _line(patient="P/*3*/"),
                                       _line(patient="x" * 10_000)]) + b"\n",
    "truncated.jsonl.gz": gzip.compress(b"\n".join([_line()] * 50) + b"\n")[:-25],
    "bad-utf8.jsonl": _line() + b"\n\xff\xfe\xfd not text\n" + _line(patient="P\xc3(") + b"\n",
    "nested.jsonl": b"[" * 100_000 + b"]" * 100_000 + b"\n" + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"\n",
    "empty.jsonl": b"",
    "garbage.bin": bytes(range(256)) * 40,
    "wrong-types.jsonl": b'{"when": 12, "who": {"x": 1}, "patient": [1, 2]}\n{"when": null, "who": "a"}\n',
    "nul-bytes.jsonl": b'{"when": "2025-11-10T18:00:00Z", "who": "a\\u0000b", "patient": "P\\u00001"}\n',
}


def make(tmp: Path, *, toml: str = JSON_SOURCE + INCIDENT, files: dict[str, bytes] | None = None) -> Path:
    (tmp / "logs").mkdir(parents=True, exist_ok=True)
    for name, data in (files if files is not None else CORPUS).items():
        (tmp / "logs" / name).write_bytes(data)
    (tmp / "accounts.csv").write_text(ACCOUNTS)
    (tmp / "patients.csv").write_text(PATIENTS)
    (tmp / "case.toml").write_text(toml + '\n[reference.accounts]\nfile = "accounts.csv"\ntimezone = "UTC"\n'
                                   '[reference.patients]\nfile = "patients.csv"\n')
    return tmp


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err


def events(folder: Path) -> int:
    if not (folder / "case.duckdb").exists():
        return 0
    con = duckdb.connect(str(folder / "case.duckdb"), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
    except duckdb.CatalogException:
        return 0
    finally:
        con.close()


def test_hostile_log_files_are_ingested_with_every_line_accounted_for(tmp_path, capsys):
    folder = make(tmp_path)
    code, _, _ = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0
    con = duckdb.connect(str(folder / "case.duckdb"), read_only=True)
    ledger = con.execute("SELECT path, lines_read, events_loaded + duplicates + quarantined FROM evidence "
                         "WHERE kind = 'log'").fetchall()
    reasons = {r[0] for r in con.execute("SELECT reason FROM quarantine").fetchall()}
    patients = {r[0] for r in con.execute("SELECT patient_id FROM events").fetchall()}
    con.close()
    assert all(read == accounted for _, read, accounted in ledger)
    assert any(r.startswith("compressed stream ends early") for r in reasons)
    assert {"invalid UTF-8", "JSON record is not an object", "missing timestamp"} <= reasons
    assert {"P'1", "P;2", "P/*3*/", "x" * 10_000, "P\x001"} <= patients


def test_values_that_look_like_sql_reach_the_lists_verbatim(tmp_path, capsys):
    folder = make(tmp_path, files={"a.jsonl": CORPUS["sql-in-values.jsonl"]})
    code, _, _ = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0
    code, _, err = run(capsys, "scope", str(folder))
    assert code == 0, err
    affected = (folder / "out" / "affected_patients.csv").read_text()
    assert "P'1" in affected and "P;2" in affected and "P/*3*/" in affected
    assert events(folder) == 4


def test_a_100_megabyte_line_is_one_line(tmp_path, capsys):
    """Longer than [case] max_line_bytes (16 MiB by default): one quarantined line, by its first 2 KB and length;
    with a larger limit, one event."""
    big = b'{"when": "2025-11-10T18:00:00Z", "who": "a", "pad": "' + b"x" * 100_000_000 + b'"}\n'
    folder = make(tmp_path, files={"big.jsonl": big + _line() + b"\n"})
    code, _, _ = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0
    assert events(folder) == 1
    con = duckdb.connect(str(folder / "case.duckdb"), read_only=True)
    reason, text = con.execute("SELECT reason, raw_text FROM quarantine").fetchone()
    con.close()
    assert reason == f"line longer than {16 * 2**20} bytes: {len(big) - 1} bytes"
    assert len(text) == 2048 and text.startswith('{"when"')
    other = make(tmp_path / "larger", toml='[case]\nmax_line_bytes = "200MB"\n' + JSON_SOURCE + INCIDENT,
                 files={"big.jsonl": big + _line() + b"\n"})
    assert run(capsys, "ingest", str(other), "--quiet")[0] == 0
    assert events(other) == 2


@pytest.mark.parametrize(("name", "toml", "fragment"), [
    ("invalid TOML", "[sources.api\nformat = ", "case.toml"),
    ("wrong type", JSON_SOURCE.replace('files = ["logs/*"]', "files = 3"), "files"),
    ("unknown format", JSON_SOURCE.replace('"jsonl"', '"xml"'), "format"),
    ("invalid regex", JSON_SOURCE + '[[sources.api.rules]]\nwhen = { who = "([" }\nset = { action = "view" }\n',
     "regular expression"),
    ("unknown canonical column", JSON_SOURCE + 'colour = "x"\n', "unknown key 'colour' in [sources.api.columns]"),
    ("NUL in a field name", JSON_SOURCE.replace('ts = "when"', 'ts = "wh\\u0000en"'), "NUL"),
    ("bad size", "[case]\nmemory_limit = \"lots\"\n" + JSON_SOURCE, "memory_limit"),
])
def test_bad_configuration_is_a_clean_configuration_error(tmp_path, capsys, name, toml, fragment):
    folder = make(tmp_path, toml=toml, files={"a.jsonl": _line() + b"\n"})
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == ConfigError.exit_code, name
    assert fragment in err
    assert events(folder) == 0


@pytest.mark.parametrize(("name", "incident", "fragment"), [
    ("end before start", INCIDENT.replace('"2025-11-11 00:00"', '"2025-11-09 00:00"'), "not after"),
    ("unknown zone", INCIDENT.replace("Europe/Paris", "Mars/Olympus"), "time zone"),
    ("overlapping windows", INCIDENT.replace('windows = [["2025-11-10 00:00", "2025-11-11 00:00"]]',
                                             'windows = [["2025-11-10 00:00", "2025-11-11 00:00"], '
                                             '["2025-11-10 12:00", "2025-11-12 00:00"]]'), "overlap"),
    ("bad CIDR", INCIDENT + '[incident.indicators]\nips = ["300.1.1.1/33"]\n', "CIDR"),
    ("unknown account", INCIDENT.replace("'; DROP TABLE events; --", "nobody"), "unknown to the accounts"),
    ("DST-ambiguous bound", INCIDENT.replace('"2025-11-10 00:00"', '"2025-10-26 02:30"'), "happens twice"),
    ("missing windows", INCIDENT.replace('windows = [["2025-11-10 00:00", "2025-11-11 00:00"]]', ""), "windows"),
])
def test_bad_incident_is_a_clean_configuration_error(tmp_path, capsys, name, incident, fragment):
    folder = make(tmp_path, toml=JSON_SOURCE, files={"a.jsonl": _line() + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    text = (folder / "case.toml").read_text()
    (folder / "case.toml").write_text(text + incident)
    code, _, err = run(capsys, "scope", str(folder))
    assert code == ConfigError.exit_code, name
    assert fragment in err


@pytest.mark.parametrize(("name", "accounts", "fragment"), [
    ("no account column", "login,practice_id\na,PR1\n", "account_id"),
    ("bad date", "account_id,practice_id,active_until\na,PR1,next tuesday\n", "line 2: active_until"),
    ("invalid UTF-8", b"account_id,practice_id\n\xff\xfe,PR1\n", "accounts"),
    ("ragged rows", "account_id,practice_id\na,PR1,extra,fields\n", "accounts"),
])
def test_bad_reference_table_is_a_clean_input_error(tmp_path, capsys, name, accounts, fragment):
    folder = make(tmp_path, files={"a.jsonl": _line() + b"\n"})
    path = folder / "accounts.csv"
    path.write_bytes(accounts if isinstance(accounts, bytes) else accounts.encode())
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == InputError.exit_code, name
    assert fragment in err
    assert events(folder) == 0  # nothing half-written


def test_a_file_that_vanishes_during_ingest(tmp_path, capsys, monkeypatch):
    folder = make(tmp_path, files={"a.jsonl": _line() + b"\n", "b.jsonl": _line(patient="P;2") + b"\n"})
    import scoping.ingest_plan as ingest_module

    real = ingest_module.sha256_file

    def hash_then_delete(path: Path):  # the file is gone between hashing and reading
        result = real(path)
        if path.name == "b.jsonl":
            path.unlink()
        return result

    monkeypatch.setattr(ingest_module, "sha256_file", hash_then_delete)
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == InputError.exit_code and "b.jsonl" in err
    assert events(folder) == 0


def test_a_file_that_changes_during_ingest(tmp_path, capsys, monkeypatch):
    folder = make(tmp_path, files={"a.jsonl": _line() + b"\n"})
    import scoping.ingest_read as ingest_module

    real = ingest_module.stream_lines

    def read_then_append(path, progress, **batching):
        result = real(path, progress, **batching)
        with path.open("ab") as fh:
            fh.write(_line(patient="late") + b"\n")
        return result

    monkeypatch.setattr(ingest_module, "stream_lines", read_then_append)
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == InputError.exit_code and "changed while it was being read" in err
    assert events(folder) == 0


def test_a_second_process_cannot_ingest_into_the_same_case(tmp_path, capsys):
    folder = make(tmp_path, files={"a.jsonl": _line() + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(folder / 'case.duckdb')!r})
        print('locked', flush=True)
        time.sleep(30)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code, _, err = run(capsys, "ingest", str(folder), "--quiet")
        assert code == InputError.exit_code and "in use by another process" in err
    finally:
        holder.kill()
        holder.wait()
    assert events(folder) == 1


def test_a_full_spill_folder_stops_cleanly_and_leaves_the_store_as_it_was(tmp_path, capsys):
    lines = b"\n".join(_line(patient=f"P{i:09d}" + "y" * 200, when=f"2025-11-10T18:{i % 60:02d}:00Z")
                       for i in range(150_000)) + b"\n"
    toml = '[case]\nmemory_limit = "30MB"\nmax_temp_directory_size = "1MB"\nthreads = 1\n' + JSON_SOURCE
    folder = make(tmp_path, toml=toml, files={"a.jsonl": lines})
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == InputError.exit_code, err
    assert "memory" in err.lower() or "disk" in err.lower() or "temp" in err.lower()
    assert events(folder) == 0


def test_an_output_folder_that_refuses_writes(tmp_path, capsys):
    folder = make(tmp_path, files={"a.jsonl": _line() + b"\n"})
    run(capsys, "ingest", str(folder), "--quiet")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should go")
    code, _, err = run(capsys, "scope", str(folder), "--out", str(blocker / "out"))
    assert code == InputError.exit_code and "output folder" in err


def test_evidence_changed_after_ingest_stops_scope(tmp_path, capsys):
    folder = make(tmp_path, files={"a.jsonl": _line() + b"\n"})
    run(capsys, "ingest", str(folder), "--quiet")
    with (folder / "logs" / "a.jsonl").open("ab") as fh:
        fh.write(b"\n")
    code, _, err = run(capsys, "scope", str(folder))
    assert code == IntegrityError.exit_code and "logs/a.jsonl" in err


def test_verify_names_the_evidence_file_that_changed(tmp_path, capsys):
    folder = make(tmp_path, files={"a.jsonl": _line() + b"\n"})
    run(capsys, "ingest", str(folder), "--quiet")
    assert run(capsys, "scope", str(folder))[0] == 0
    assert run(capsys, "verify", str(folder))[0] == 0
    data = bytearray((folder / "logs" / "a.jsonl").read_bytes())
    data[5] ^= 1
    (folder / "logs" / "a.jsonl").write_bytes(bytes(data))
    code, out, _ = run(capsys, "verify", str(folder))
    assert code == IntegrityError.exit_code and "logs/a.jsonl" in out


def test_pseudonymised_outputs_carry_no_patient_id_and_no_key(tmp_path, capsys):
    folder = make(tmp_path, files={"a.jsonl": CORPUS["sql-in-values.jsonl"]})
    run(capsys, "ingest", str(folder), "--quiet")
    key = tmp_path / "key.bin"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    code, _, err = run(capsys, "scope", str(folder), "--out", str(tmp_path / "shared"), "--pseudonymise-key", str(key))
    assert code == 0, err
    for path in (tmp_path / "shared").rglob("*.*"):
        text = path.read_bytes()
        assert b"P'1" not in text and b"P;2" not in text and key.read_bytes() not in text, path
    assert b"ps-" in (tmp_path / "shared" / "affected_patients.csv").read_bytes()
    manifest = json.loads((tmp_path / "shared" / "manifest.json").read_text())
    assert manifest["output_set"]["patient_ids_pseudonymised"] is True


@pytest.mark.parametrize("identifier", ["..", "../etc/passwd", "a/b", "CON", "nul.txt", "x" * 300, "PR-1\x00",
                                        "a_b", "a-b-0123456789abcdef", "-5", ".hidden"])
def test_practice_ids_become_safe_file_names(identifier):
    from scoping.naming import practice_files

    name = practice_files([identifier])[identifier]
    assert "/" not in name and "\x00" not in name and not name.startswith((".", "-")) and len(name) <= 100
    assert name.split(".")[0].lower() not in {"con", "nul", "prn", "aux"}


def test_practice_file_names_never_collide_even_once_case_is_folded():
    from scoping.naming import practice_files

    ids = ["a/b", "a_b", "a:b", "a b", "a-b", "A_B", "..", ".", "_", "a_b-" + "0" * 16, "-5", "'-5", "P001", "p001",
           "=1+1", "'=1+1"]
    names = practice_files(ids)
    folded = {n.casefold() for n in names.values()}
    assert len(folded) == len(ids)
    assert practice_files(["PR00001", "PR00002"]) == {"PR00001": "PR00001", "PR00002": "PR00002"}


def test_spreadsheet_formulas_are_neutralised():
    import csv
    import io

    import polars as pl

    from scoping.writers import csv_bytes

    df = pl.DataFrame({"v": ["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "ok"]})
    rows = [r[0] for r in csv.reader(io.StringIO(csv_bytes(df).decode(), newline=""))][1:]
    assert all(r.startswith("'") for r in rows[:4])
    assert rows[4:6] == ["\u2409x", "\u240dx"]  # tab and carriage return shown as control pictures: inert
    assert rows[6] == "ok"


def test_a_corrected_reference_table_supersedes_the_old_one(tmp_path, capsys):
    folder = make(tmp_path, files={"a.jsonl": CORPUS["sql-in-values.jsonl"]})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0   # same files: nothing superseded
    assert run(capsys, "scope", str(folder))[0] == 0
    (folder / "patients.csv").write_text(PATIENTS + "P9,PR2\n")     # a corrected patient directory
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    code, _, err = run(capsys, "scope", str(folder))
    assert code == 0, err
    con = duckdb.connect(str(folder / "case.duckdb"), read_only=True)
    statuses = sorted(r[0] for r in con.execute("SELECT status FROM evidence WHERE source = 'reference.patients'")
                      .fetchall())
    con.close()
    assert statuses[0] == "reference table" and statuses[1].startswith("superseded by")


UNKNOWN_PATIENT = "\n".join([
    "id,t,u,a,p,r",
    "1,2025-11-10 19:00:00,drX,VIEW,P1,OK",
    "2,2025-11-10 19:01:00,drX,VIEW,P0000002%20,ERROR",   # a probe the server answered 500: outcome unknown
    "3,2025-11-10 19:02:00,drX,VIEW,P\x07\x1b[31m,DENIED",  # control characters, refused
    '4,2025-11-10 19:03:00,drX,VIEW,"=HYPERLINK(""x"")",OK',
]) + "\n"


def test_unknown_patient_ids_never_stop_the_lists_and_are_listed_apart(tmp_path, capsys):
    csv_case(tmp_path, log=UNKNOWN_PATIENT, patients="patient_id,practice_id\nP1,PR1\n",
             accounts="account_id,practice_id\ndrX,PR9\n")
    code, out, err = run(capsys, "run", str(tmp_path), "--quiet")
    assert code == 0, err
    assert "belong to no practice" in out
    listed = (tmp_path / "out" / "by_controller" / "PR1.csv").read_text()
    assert "P1" in listed
    unassigned = (tmp_path / "out" / "unassigned_patients.csv").read_text(encoding="utf-8")
    assert "P0000002%20,affected" in unassigned
    assert "'=HYPERLINK" in unassigned                          # a formula cell, neutralised
    assert "P\u2407\u241b[31m,attempted" in unassigned          # control characters shown, never raw
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"]["unassigned_affected"] == 2 and summary["counts"]["unassigned_attempted"] == 1
    assert "unassigned_patients.csv" in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.parametrize("value", ['plain', 'quo"te', "back\\slash", "new\nline", "nul\x00", "tab\there", "\u2028",
                                   "\x7f", "é ü 漢"])
def test_the_proposed_incident_round_trips_any_string(value):
    import tomllib

    from scoping.discover import incident_toml

    inc = {"name": value, "timezone": "UTC", "windows": [["2025-11-10T00:00:00", "2025-11-11T00:00:00"]],
           "compromised_accounts": [value], "indicators": {"ips": [], "user_agents": [value]}}
    back = tomllib.loads(incident_toml(inc))["incident"]
    assert back["name"] == value and back["compromised_accounts"] == [value]
    assert back["indicators"]["user_agents"] == [value]


# -- red-team round 2: ingest ---------------------------------------------------------------------------------


def ledger(folder: Path) -> dict[str, tuple[int, int, int, int, int]]:
    """Per log file: (read, loaded, duplicates, conflicts, quarantined), checked to add up."""
    con = duckdb.connect(str(folder / "case.duckdb"), read_only=True)
    rows = con.execute("SELECT path, lines_read, events_loaded, duplicates, conflicts, quarantined FROM evidence "
                       "WHERE kind = 'log' ORDER BY path").fetchall()
    con.close()
    out = {str(p): tuple(int(v) for v in rest) for p, *rest in rows}
    assert all(read == sum(rest) for read, *rest in out.values()), out
    return out  # type: ignore[return-value]


def test_a_byte_order_mark_opening_a_json_lines_file_is_dropped(tmp_path, capsys):
    bom = b"\xef\xbb\xbf" + _line(patient="P1") + b"\n" + _line(patient="P2") + b"\n"
    folder = make(tmp_path, files={"a.jsonl": bom, "b.jsonl.gz": gzip.compress(bom)})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert ledger(folder) == {"logs/a.jsonl": (2, 2, 0, 0, 0), "logs/b.jsonl.gz": (2, 0, 2, 0, 0)}
    assert query(folder, "SELECT DISTINCT patient_id FROM events ORDER BY 1") == [("P1",), ("P2",)]


def _run_id(out: str) -> str:
    return next(line.split()[1] for line in out.splitlines() if line.startswith("run:"))


def test_a_file_the_case_no_longer_names_leaves_the_store_and_a_missing_one_is_named(tmp_path, capsys):
    """Narrowing `files` removes an ingested file's rows (the file is untouched) and changes the run; a file the
    globs still name but that is gone stops ingest and scope with the same advice (no loop)."""
    folder = make(tmp_path, files={"a.jsonl": _line() + b"\n", "test.jsonl": _line(patient="P;2") + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    code, out, err = run(capsys, "scope", str(folder))
    assert code == 0, err
    first = _run_id(out)
    assert "P;2" in (folder / "out" / "affected_patients.csv").read_text()
    (folder / "logs" / "test.jsonl").rename(folder / "test.jsonl")      # gone, but logs/* still names it
    for command in ("scope", "ingest"):
        code, _, err = run(capsys, command, str(folder))
        assert code == IntegrityError.exit_code, (command, err)
        assert "logs/test.jsonl" in err and "restore it from the acquisition copy" in err and "narrow" in err
    (folder / "test.jsonl").rename(folder / "logs" / "test.jsonl")
    toml = (folder / "case.toml").read_text()
    (folder / "case.toml").write_text(toml.replace('files = ["logs/*"]', 'files = ["logs/a.jsonl"]'))
    code, _, err = run(capsys, "scope", str(folder))
    assert code == IntegrityError.exit_code and "logs/test.jsonl was ingested for [sources.api], whose files no " \
                                                "longer name it" in err and "`scoping ingest CASE` removes" in err
    code, out, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0, err
    assert "removed from the store" in out
    assert "logs/test.jsonl ([sources.api] files no longer name it): 1 line read; 1 event and 0 quarantined " \
           "lines removed" in out
    assert ledger(folder) == {"logs/a.jsonl": (1, 1, 0, 0, 0)}
    assert (folder / "logs" / "test.jsonl").is_file()                   # evidence is never touched
    code, out, err = run(capsys, "scope", str(folder))
    assert code == 0, err
    second = _run_id(out)
    assert second != first and "P;2" not in (folder / "out" / "affected_patients.csv").read_text()
    (folder / "logs" / "test.jsonl").rename(folder / "test.jsonl")      # gone and no longer named: nothing to say
    code, out, _ = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0 and "removed" not in out
    code, out, err = run(capsys, "scope", str(folder))
    assert code == 0 and _run_id(out) == second, err


def test_a_changed_max_line_bytes_reads_the_files_again(tmp_path, capsys):
    long = _line(patient="P;2", pad="x" * 6000)
    folder = make(tmp_path, toml='[case]\nmax_line_bytes = "4KiB"\n' + JSON_SOURCE + INCIDENT,
                  files={"a.jsonl": _line() + b"\n" + long + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert ledger(folder) == {"logs/a.jsonl": (2, 1, 0, 0, 1)}
    (folder / "case.toml").write_text((folder / "case.toml").read_text().replace('"4KiB"', '"64KiB"'))
    code, _, err = run(capsys, "scope", str(folder))
    assert code == IntegrityError.exit_code
    assert "logs/a.jsonl was read with other [case] settings than case.toml gives now (max_line_bytes = 4096 " \
           "then, 65536 now)" in err
    code, out, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0, err
    assert "re-read: read settings changed (max_line_bytes = 4096 then, 65536 now)" in out
    assert ledger(folder) == {"logs/a.jsonl": (2, 2, 0, 0, 0)}
    assert run(capsys, "ingest", str(folder), "--quiet")[1].count("already ingested (same SHA-256)") == 1
    assert run(capsys, "scope", str(folder))[0] == 0


def test_a_column_naming_a_field_no_record_holds_is_a_typo_stopped_or_a_warning(tmp_path, capsys):
    files = {"a.jsonl": _line(ip="203.0.113.9") + b"\n" + _line(patient="P;2") + b"\n"}
    folder = make(tmp_path, files=files, toml=JSON_SOURCE.replace('patient_id = "patient"',
                                                                  'patient_id = "patients"') + INCIDENT)
    for args in (["--dry-run"], ["--quiet"]):
        code, _, err = run(capsys, "ingest", str(folder), *args)
        assert code == ConfigError.exit_code, err
        assert 'names a field that no record of' in err and 'patient_id = "patients" (did you mean "patient"?)' in err
    assert events(folder) == 0
    # an optional column: a near miss stops too; a field only some records hold is fine
    toml = JSON_SOURCE.replace('patient_id = "patient"', 'patient_id = "patient"\nsrc_ip = "ipp"') + INCIDENT
    (folder / "case.toml").write_text((folder / "case.toml").read_text().replace(
        JSON_SOURCE.replace('patient_id = "patient"', 'patient_id = "patients"') + INCIDENT, toml))
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == ConfigError.exit_code and 'src_ip = "ipp" (did you mean "ip"?)' in err
    (folder / "case.toml").write_text((folder / "case.toml").read_text().replace('"ipp"', '"ip"'))
    code, out, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0 and "WARNING" not in out, err
    assert ledger(folder) == {"logs/a.jsonl": (2, 2, 0, 0, 0)}
    # a name close to no field: the column stays empty, and ingest and the dry run say so
    (folder / "case.toml").write_text((folder / "case.toml").read_text().replace('"ip"', '"client_address"'))
    for args in (["--dry-run"], ["--quiet"]):
        code, out, err = run(capsys, "ingest", str(folder), *args)
        assert code == 0, err
        assert 'WARNING: [sources.api.columns] src_ip = "client_address": no record of' in out


def test_a_result_list_of_objects_is_read_by_its_member_or_said_loudly(tmp_path, capsys):
    objects = _line(patient=[{"id": "P'1", "name": "x"}, {"id": "P;2"}])
    encoded = _line(patient='["P/*3*/","P9"]')
    folder = make(tmp_path, files={"a.jsonl": objects + b"\n" + encoded + b"\n" + _line(patient=["P9"]) + b"\n"})
    for args in (["--dry-run"], ["--quiet"]):
        code, out, err = run(capsys, "ingest", str(folder), *args)
        assert code == 0, err
        assert "field patient holds objects, in 1 " in out and 'patient_id = "patient[].id"' in out
    assert "WARNING: [sources.api] 1 line quarantined: patient list written as a string" in out
    assert ledger(folder) == {"logs/a.jsonl": (3, 2, 0, 0, 1)}
    assert query(folder, "SELECT reason FROM quarantine") == [
        ('patient list written as a string (a JSON array inside a JSON string), not read as patient ids: '
         '["P/*3*/","P9"]',)]
    assert query(folder, "SELECT DISTINCT patient_id FROM events ORDER BY 1 NULLS FIRST") == [(None,), ("P9",)]
    toml = (folder / "case.toml").read_text()
    (folder / "case.toml").write_text(toml.replace('patient_id = "patient"', 'patient_id = "patient[].id"'))
    code, out, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0 and "re-read: mapping changed" in out and "holds objects" not in out, err
    assert ledger(folder) == {"logs/a.jsonl": (3, 2, 0, 0, 1)}
    assert query(folder, "SELECT DISTINCT patient_id FROM events ORDER BY 1") == [("P'1",), ("P9",), ("P;2",)]
    assert query(folder, "SELECT count(*) FROM events WHERE record_flags IS NOT NULL") == [(0,)]
    # FIELD[].MEMBER is for patient_id only
    (folder / "case.toml").write_text(toml.replace('account_id = "who"', 'account_id = "who[].id"'))
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == ConfigError.exit_code and "FIELD[].MEMBER" in err


def test_a_rule_setting_a_literal_that_is_a_field_name_is_warned_of_in_the_dry_run(tmp_path, capsys):
    toml = JSON_SOURCE.replace('patient_id = "patient"\n', '') + \
        '[[sources.api.rules]]\nname = "all"\nwhen = { who = "." }\nset = { patient_id = "patient" }\n' + INCIDENT
    folder = make(tmp_path, toml=toml, files={"a.jsonl": _line() + b"\n"})
    code, out, err = run(capsys, "ingest", str(folder), "--dry-run")
    assert code == 0, err
    assert "WARNING: rule 'all' sets patient_id = \"patient\", a literal, and \"patient\" is also a field of the " \
           "records" in out
