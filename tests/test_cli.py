"""The command line: every command has help with an example; errors are clean with distinct exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scoping import cli
from scoping.errors import CheckFailed, ConfigError, InputError, IntegrityError, ScopingError


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_has_help_with_an_example(name, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([name, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "example: scoping" in out


def test_exit_codes_are_distinct():
    codes = [ScopingError.exit_code, ConfigError.exit_code, InputError.exit_code, CheckFailed.exit_code,
             IntegrityError.exit_code]
    assert len(set(codes)) == len(codes)


def test_missing_case_is_a_clean_configuration_error(tmp_path, capsys):
    code = cli.main(["scope", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == ConfigError.exit_code
    assert "Traceback" not in err and "not found" in err


def test_init_writes_a_case_that_loads(tmp_path, capsys):
    assert cli.main(["init", str(tmp_path / "c")]) == 0
    from scoping import Case

    case = Case.open(tmp_path / "c")
    assert case.config.sources == ()
    assert cli.main(["init", str(tmp_path / "c")]) == ConfigError.exit_code


def test_scope_without_incident_says_what_to_do(tmp_path, capsys):
    cli.main(["init", str(tmp_path / "c")])
    code = cli.main(["scope", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code in (ConfigError.exit_code, InputError.exit_code)
    assert "what to do" in err


def test_queries_lists_and_shows_verbatim(capsys):
    assert cli.main(["queries"]) == 0
    listing = capsys.readouterr().out
    assert "scope_segments" in listing
    assert cli.main(["queries", "--show", "scope_segments"]) == 0
    from scoping import queries

    assert capsys.readouterr().out == queries.get("scope_segments").text


def test_python_dash_m_runs(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scoping", "--version"], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and r.stdout.startswith("scoping ")


def test_run_and_verify_end_to_end(fresh_world, capsys):
    folder = fresh_world(seed=7, scale=0.3)
    assert cli.main(["run", str(folder), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "affected patients:" in out
    assert cli.main(["verify", str(folder)]) == 0
    target = folder / "out" / "affected_patients.csv"
    data = bytearray(target.read_bytes())
    data[-2] ^= 1
    target.write_bytes(bytes(data))
    assert cli.main(["verify", str(folder)]) == IntegrityError.exit_code
    assert "affected_patients.csv" in capsys.readouterr().out


def _commands_and_options() -> dict[str, set[str]]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return {name: {o for a in p._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
            for name, p in sub.choices.items()}


def test_every_command_and_option_is_documented_and_every_documented_one_exists():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    known = _commands_and_options()
    for name, options in known.items():
        assert f"`scoping {name}" in readme, f"command {name} is not in the README"
        for option in options:
            assert f"`{option}" in readme, f"option {option} of {name} is not in the README"
    import re

    for line in readme.splitlines():
        for m in re.finditer(r"scoping ([a-z]+)((?: +(?:-{1,2}[\w-]+|[^\s`#|]+))*)", line):
            name = m.group(1)
            if name not in known:
                continue
            for option in re.findall(r"(?<![\w-])--[\w-]+", m.group(2)):
                assert option in known[name], f"README shows {option} for {name}, which has no such option"


def test_scope_warns_when_evidence_lines_are_quarantined(tmp_path, capsys):
    """A quarantined line records something no list holds: the scope summary says so, with the reasons."""
    from helpers import csv_case

    log = ('id,t,u,a,p,r\n1,2025-11-10 19:00:00,drX,VIEW,A,OK\n'
           '2,2025-11-10 19:05:00,drX,VIEW,"B,OK\n'            # a quote that never closes
           '3,2025-11-10 19:06:00,drX,VIEW,C,OK\n4,2025-11-10 19:07:00,drX,VIEW,D,OK\n')
    csv_case(tmp_path, log=log, patients="patient_id,practice_id\nA,P1\nB,P1\nC,P1\nD,P1\n")
    assert cli.main(["ingest", str(tmp_path), "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["scope", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "line(s) of the evidence are quarantined (malformed quoting" in printed
    assert "what they record is in no list" in printed
