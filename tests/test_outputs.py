"""Outputs you can prove (issue 14): one owned output folder, a manifest that covers all of it, nothing stale, nothing
silently recomputed. Each scenario is the command sequence a user runs, through the command line."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from helpers import csv_case

from scoping import Case, cli
from scoping.errors import ConfigError, IntegrityError


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}


@pytest.fixture(scope="module")
def ran_case(world_factory, tmp_path_factory):
    """A world after `scoping run` (ingest, scope, notify fr, report), made once; tests work on copies."""
    folder = tmp_path_factory.mktemp("ran") / "case"
    shutil.copytree(world_factory(seed=7, scale=0.3), folder,
                    ignore=shutil.ignore_patterns("case.duckdb*", "out", ".duckdb-tmp"))
    assert cli.main(["run", str(folder), "--quiet"]) == 0
    return folder


@pytest.fixture
def case_dir(ran_case, tmp_path, capsys):
    folder = tmp_path / "case"
    shutil.copytree(ran_case, folder, symlinks=True)
    capsys.readouterr()
    return folder


def test_the_manifest_lists_every_file_of_the_folder_after_every_command(case_dir, capsys):
    out = case_dir / "out"
    assert set(manifest(out)["files"]) == files_under(out)
    for command in (["discover", str(case_dir)], ["report", str(case_dir)], ["notify", str(case_dir), "--lang", "en"],
                    ["notify", str(case_dir), "--practice", "PR00003"]):
        assert run(capsys, *command)[0] == 0, command
        assert set(manifest(out)["files"]) == files_under(out), command
    sections = manifest(out)["sections"]
    assert {"scope", "report", "discover"} <= set(sections)
    assert any(s.startswith("notify/fr/") for s in sections) and any(s.startswith("notify/en/") for s in sections)
    assert run(capsys, "verify", str(case_dir))[0] == 0
    code, printed, _ = run(capsys, "discover", str(case_dir), "--from", "2025-11-05")  # another discovery run:
    assert code == 0
    assert "report" not in manifest(out)["sections"]  # the report that showed the former one goes with it, said so
    assert "removed, as they showed another run or other evidence: report" in printed
    assert "scoping report CASE" in printed
    assert not (out / "report.html").exists()


@pytest.mark.parametrize("target", ["notify/fr/PR00003/letters.csv", "report.html", "figures/coverage.svg",
                                   "by_controller/PR00001.csv"])
def test_a_tampered_kit_list_or_report_fails_verify_naming_the_file(case_dir, capsys, target):
    path = case_dir / "out" / target
    with path.open("ab") as fh:
        fh.write(b"P9999999,appended\r\n")
    code, out, _ = run(capsys, "verify", str(case_dir))
    assert code == IntegrityError.exit_code
    assert f"changed   {target}" in out


def test_an_unlisted_file_fails_verify_and_blocks_publishing(case_dir, capsys):
    extra = case_dir / "out" / "notify" / "fr" / "smuggled.csv"
    extra.write_text("patient_id\nP0000001\n")
    code, out, _ = run(capsys, "verify", str(case_dir))
    assert code == IntegrityError.exit_code and "unlisted  notify/fr/smuggled.csv" in out
    code, _, err = run(capsys, "report", str(case_dir))
    assert code == IntegrityError.exit_code and "smuggled.csv" in err and extra.exists()


def test_a_narrower_incident_leaves_no_stale_kit_list_or_report(case_dir, capsys):
    before = manifest(case_dir / "out")
    toml = (case_dir / "case.toml").read_text()
    accounts = re.search(r"compromised_accounts = \[(.*)\]", toml)
    assert accounts
    first = accounts.group(1).split(",")[0]
    toml = toml.replace(accounts.group(0), f"compromised_accounts = [{first}]")
    toml = re.sub(r'windows = \[\["([^"]+)", "[^"]+"\]\]', r'windows = [["\1", "2025-11-11 06:00"]]', toml)
    (case_dir / "case.toml").write_text(toml)
    code, _, err = run(capsys, "notify", str(case_dir))
    assert code == ConfigError.exit_code and "changed since run" in err  # never a silent publish of a stale run
    assert run(capsys, "scope", str(case_dir))[0] == 0
    out = case_dir / "out"
    after = manifest(out)
    assert after["output_set"]["scope_run_id"] != before["output_set"]["scope_run_id"]
    assert not (out / "notify").exists() and not (out / "report.html").exists()  # of the older run: gone
    assert run(capsys, "notify", str(case_dir))[0] == 0
    assert run(capsys, "report", str(case_dir))[0] == 0
    practices = set(pl.read_csv(out / "affected_patients.csv", infer_schema=False)["practice_id"]) | set(
        pl.read_csv(out / "attempted_patients.csv", infer_schema=False)["practice_id"])
    names = manifest(out)["practice_files"]
    assert {p.name for p in (out / "notify" / "fr").iterdir()} == {names[p] for p in practices}
    assert {p.stem for p in (out / "by_controller").iterdir()} <= {names[p] for p in practices}
    sections = manifest(out)["sections"]
    assert {s["run_id"] for s in sections.values() if s["run_kind"] == "scope"} == {after["output_set"]["scope_run_id"]}
    assert run(capsys, "verify", str(case_dir))[0] == 0


def test_notify_and_report_publish_the_recorded_run_never_a_recomputation(case_dir, capsys):
    assert run(capsys, "scope", str(case_dir), "--exclude-undetermined")[0] == 0
    out = case_dir / "out"
    listed = (out / "affected_patients.csv").read_bytes()
    assert b"undetermined" not in listed
    assert run(capsys, "notify", str(case_dir))[0] == 0
    assert run(capsys, "report", str(case_dir))[0] == 0
    assert (out / "affected_patients.csv").read_bytes() == listed
    run_id = manifest(out)["output_set"]["scope_run_id"]
    assert manifest(out)["runs"][run_id]["parameters"]["count_undetermined"] is False
    with Case.open(case_dir) as case:
        result = case.run()
    letters = pl.concat([pl.read_csv(p, infer_schema=False) for p in (out / "notify" / "fr").glob("*/letters.csv")])
    assert set(letters["patient_id"]) == set(result.affected["patient_id"])
    assert "not counted" in (out / "report.html").read_text()


def test_a_pseudonymised_set_stays_pseudonymised_when_the_report_is_added(case_dir, capsys, tmp_path):
    key = tmp_path / "key.bin"
    key.write_bytes(os.urandom(32))
    assert run(capsys, "scope", str(case_dir), "--out", str(case_dir / "out"), "--pseudonymise-key", str(key))[0] == 0
    assert run(capsys, "report", str(case_dir))[0] == 0
    patients = set(pl.read_csv(case_dir / "reference/patients.csv", infer_schema=False)["patient_id"])
    out = case_dir / "out"
    for path in out.rglob("*"):
        if path.is_file():
            found = set(re.findall(rb"P\d{7}", path.read_bytes())) & {p.encode() for p in patients}
            assert not found, path
    assert manifest(out)["output_set"]["patient_ids_pseudonymised"] is True
    code, _, err = run(capsys, "notify", str(case_dir))
    assert code == ConfigError.exit_code and "pseudonymised" in err
    assert run(capsys, "verify", str(case_dir))[0] == 0


def test_kits_in_two_languages_live_side_by_side_and_are_both_listed(case_dir, capsys):
    assert run(capsys, "notify", str(case_dir), "--lang", "en")[0] == 0
    out = case_dir / "out"
    fr = sorted(p.relative_to(out / "notify" / "fr").as_posix() for p in (out / "notify" / "fr").rglob("*.*"))
    en = sorted(p.relative_to(out / "notify" / "en").as_posix() for p in (out / "notify" / "en").rglob("*.*"))
    assert fr == en and fr
    listed = manifest(out)["files"]
    assert all(f"notify/fr/{f}" in listed and f"notify/en/{f}" in listed for f in fr)


@pytest.mark.parametrize("stage", ["notify", "report"])
def test_a_publish_killed_midway_leaves_the_previous_set_whole(case_dir, capsys, stage):
    before = manifest(case_dir / "out")
    script = textwrap.dedent(f"""
        import os, signal
        import scoping.publish as publish
        real, count = publish.write_private, [0]
        def dying(path, data):
            count[0] += 1
            if count[0] == 7:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(path, data)
        publish.write_private = dying
        from scoping import Case
        with Case.open({str(case_dir)!r}) as case:
            result = case.run()
            case.{stage}(result, **({{"lang": "en"}} if {stage!r} == "notify" else {{}}))
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert proc.returncode == -signal.SIGKILL
    assert manifest(case_dir / "out")["files"] == before["files"]
    code, out, _ = run(capsys, "verify", str(case_dir))
    assert code == 0 and "interrupted publish" in out
    assert run(capsys, "report", str(case_dir))[0] == 0
    assert not list(case_dir.glob(".out.*-*"))


def test_a_publish_killed_between_its_two_renames_is_repaired_by_the_next(case_dir, capsys):
    out = case_dir / "out"
    before = manifest(out)["files"]
    os.rename(out, case_dir / ".out.old-0123456789ab")  # as if killed right after the first rename
    code, _, err = run(capsys, "verify", str(case_dir))
    assert code == IntegrityError.exit_code and ".out.old-" in err
    assert run(capsys, "notify", str(case_dir), "--lang", "en")[0] == 0
    after = manifest(out)["files"]
    assert {k: v for k, v in after.items() if not k.startswith("notify/en/")} == before


def _png_text(data: bytes) -> bytes:
    """The text chunks (tEXt, zTXt, iTXt) of a PNG."""
    import struct
    import zlib

    pos, found = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"tEXt":
            found += body + b"\n"
        elif kind == b"zTXt":
            found += zlib.decompress(body.split(b"\0", 1)[1][1:]) + b"\n"
        elif kind == b"iTXt":
            found += body + b"\n"
        pos += 12 + length
    return found


def test_figures_and_the_shareable_report_name_no_account_address_client_or_practice(case_dir):
    out = case_dir / "out"
    accounts = set(pl.read_csv(case_dir / "reference/accounts.csv", infer_schema=False)["account_id"])
    practices = set(pl.read_csv(case_dir / "reference/accounts.csv", infer_schema=False)["practice_id"])
    segments = pl.read_csv(out / "sessions.csv", infer_schema=False)
    addresses, clients = set(segments["src_ip"].drop_nulls()), set(segments["user_agent"].drop_nulls())
    texts = {p.name: p.read_text() for p in (out / "figures").glob("*.svg")}
    texts |= {p.name: _png_text(p.read_bytes()).decode("latin-1") for p in (out / "figures").glob("*.png")}
    html = (out / "report_shareable.html").read_text()
    texts["report_shareable.html"] = re.sub(r'src="data:image/png;base64,[^"]*"', "", html)
    assert any("account 1" in t for t in texts.values())  # the labels the tables use
    for name, text in texts.items():
        words = set(re.findall(r"[\w.:/()-]+", text))
        assert not words & accounts, (name, sorted(words & accounts)[:3])
        assert not words & practices, (name, sorted(words & practices)[:3])
        assert not [a for a in addresses if a in text], name
        assert not [c for c in clients if c in text], name


def test_colliding_practice_ids_get_distinct_files_in_both_folders(tmp_path, capsys):
    log = ["id,t,u,a,p,r"] + [f"{i},2025-11-10 19:{i:02d}:00,drX,VIEW,{p},OK"
                              for i, p in enumerate(["A", "B", "C", "D"], start=1)]
    csv_case(tmp_path, log="\n".join(log) + "\n", patients="patient_id,practice_id\nA,-5\nB,'-5\nC,P001\nD,p001\n")
    assert run(capsys, "run", str(tmp_path), "--quiet")[0] == 0
    out = tmp_path / "out"
    names = manifest(out)["practice_files"]
    assert len({n.casefold() for n in names.values()}) == 4
    for practice, patient in (("-5", "A"), ("'-5", "B"), ("P001", "C"), ("p001", "D")):
        rows = pl.read_csv(out / "by_controller" / f"{names[practice]}.csv", infer_schema=False)
        assert rows["patient_id"].to_list() == [patient]
        letters = pl.read_csv(out / "notify" / "fr" / names[practice] / "letters.csv", infer_schema=False)
        assert letters["patient_id"].to_list() == [patient]


def test_the_store_and_every_created_folder_are_private_whatever_the_umask(fresh_world, capsys, tmp_path):
    old = os.umask(0)
    try:
        world = tmp_path / "world"
        assert run(capsys, "synth", str(world), "--scale", "0.1")[0] == 0
        assert run(capsys, "run", str(world), "--quiet")[0] == 0
        with Case.open(world) as case:  # a write through the library leaves a write-ahead log behind
            case.scope(check_evidence=False)
            wal = world / "case.duckdb.wal"
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (world / "case.duckdb", wal) if p.exists()}
    finally:
        os.umask(old)
    assert modes and set(modes.values()) == {0o600}, modes
    for p in [world, *world.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), p


def test_verify_recompute_catches_a_forger_who_rewrites_the_manifest_too(case_dir, capsys):
    import hashlib

    from scoping.manifest import digest

    assert run(capsys, "verify", str(case_dir), "--recompute")[0] == 0
    out = case_dir / "out"
    body = manifest(out)
    target = out / "by_controller" / "PR00001.csv"
    forged = target.read_bytes().replace(b"P0000", b"P9000", 1)
    target.write_bytes(forged)
    body["files"]["by_controller/PR00001.csv"]["sha256"] = hashlib.sha256(forged).hexdigest()
    body["files"]["by_controller/PR00001.csv"]["bytes"] = len(forged)
    body["manifest_sha256"] = digest(body)
    (out / "manifest.json").write_text(json.dumps(body))
    assert run(capsys, "verify", str(case_dir))[0] == 0  # consistent with itself: only a new computation can tell
    code, printed, _ = run(capsys, "verify", str(case_dir), "--recompute")
    assert code == IntegrityError.exit_code
    assert "by_controller/PR00001.csv differs from what the evidence gives" in printed


def test_the_report_of_the_recorded_run_is_the_report_scope_made(case_dir, capsys):
    """`scoping report` publishes the recorded run (read back from the store); `verify --recompute` makes the report
    from a fresh computation: both must be the very report `scoping run` wrote."""
    out = case_dir / "out"
    before = {name: (out / name).read_bytes() for name in ("report.html", "report_shareable.html")}
    assert run(capsys, "report", str(case_dir))[0] == 0
    assert {name: (out / name).read_bytes() for name in before} == before
    code, printed, _ = run(capsys, "verify", str(case_dir), "--recompute")
    assert code == 0, printed


def test_verify_recompute_makes_the_kits_and_the_report_again(case_dir, capsys):
    import hashlib

    from scoping.manifest import digest

    assert run(capsys, "notify", str(case_dir), "--lang", "en")[0] == 0
    code, printed, _ = run(capsys, "verify", str(case_dir), "--recompute")
    assert code == 0, printed
    out = case_dir / "out"
    body = manifest(out)
    kit = "notify/fr/PR00003/letters.csv"
    forged = (out / kit).read_bytes().replace(b"ouvert", b"vu", 1)
    (out / kit).write_bytes(forged)
    body["files"][kit]["sha256"] = hashlib.sha256(forged).hexdigest()
    body["files"][kit]["bytes"] = len(forged)
    gone = [rel for rel in body["files"] if rel.startswith("notify/en/PR00001/")]
    for rel in gone:
        (out / rel).unlink()
        del body["files"][rel]
    body["manifest_sha256"] = digest(body)
    (out / "manifest.json").write_text(json.dumps(body))
    assert run(capsys, "verify", str(case_dir))[0] == 0  # consistent with itself
    code, printed, _ = run(capsys, "verify", str(case_dir), "--recompute")
    assert code == IntegrityError.exit_code
    assert f"recomputed: {kit} differs" in printed
    assert all(f"recomputed: {rel} should exist" in printed for rel in gone)


def test_a_pseudonymised_set_holds_no_patient_id_even_inside_log_identifiers(tmp_path, capsys):
    """Gateways often build request and document ids from the patient's id ("req-PATIENT42-1", "CR-PATIENT42"):
    a pseudonymised set hashes them too, and a timeline without patients leaves them (and the raw URL) out."""
    from helpers import CSV_CASE

    log = ("id,t,u,a,p,r,doc\n"
           "req-PATIENT42-1,2025-11-10 19:00:00,drX,VIEW,PATIENT42,OK,CR-PATIENT42-2025\n"
           "req-PATIENT43-1,2025-11-10 19:05:00,drX,VIEW,PATIENT43,OK,\n")
    (tmp_path / "case").mkdir()
    folder = csv_case(tmp_path / "case", log=log, patients="patient_id,practice_id\nPATIENT42,P1\nPATIENT43,P1\n")
    (folder / "case.toml").write_text(CSV_CASE.replace('outcome = "r"', 'outcome = "r"\nresource_id = "doc"'))
    key = tmp_path / "key.bin"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    shared = tmp_path / "shared"
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert run(capsys, "scope", str(folder), "--out", str(shared), "--pseudonymise-key", str(key))[0] == 0
    assert run(capsys, "export-timeline", str(folder), "--out", str(shared))[0] == 0
    assert run(capsys, "export-timeline", str(folder))[0] == 0   # an ordinary set's timeline, without patients
    assert (shared / "timeline" / "timesketch.jsonl").stat().st_size > 0
    for path in [*shared.rglob("*"), *(folder / "out" / "timeline").rglob("*")]:
        if path.is_file():
            assert b"PATIENT4" not in path.read_bytes(), path
    accesses = (shared / "accesses.csv").read_text()
    assert "ps-" in accesses and "log.csv" in accesses  # hashed ids, and the evidence file that leads to them
    code, printed, _ = run(capsys, "verify", str(folder), "--out", str(shared), "--recompute", "--pseudonymise-key",
                           str(key))
    assert code == 0, printed
