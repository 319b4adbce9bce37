"""Issue 16, ingest side: each case failed (wrong list, crash or silence) before, and each asserts the exact
ledger (read = loaded + duplicates + conflicts + quarantined) and, where a list is made, that it is the list of a
clean run on equivalent input."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from ingest_helpers import GATEWAY, INCIDENT, ledger, make, query, rec

from scoping import cli
from scoping.errors import ConfigError, InputError


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err


def affected(folder: Path) -> list[tuple[str, str, str]]:
    rows = csv.DictReader(io.StringIO((folder / "out" / "affected_patients.csv").read_text()))
    return sorted((r["practice_id"], r["patient_id"], r["exposure"]) for r in rows)


def test_attacker_reads_reusing_an_owner_request_id_are_conflicts_not_duplicates(tmp_path, capsys):
    owner = rec(request_id="r1", when="2025-11-10T17:00:00Z", patient="P1")
    attacker = [rec(request_id="r1", when=f"2025-11-10T19:0{i}:00Z", ip="203.0.113.9", patient=f"P{i + 2}")
                for i in range(4)]
    rotated = owner  # the same record again in the next file: a duplicate
    folder = make(tmp_path / "hostile", files={"a.jsonl": b"\n".join([owner, *attacker]) + b"\n",
                                               "b.jsonl": rotated + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert ledger(folder) == {"logs/a.jsonl": (5, 1, 0, 4, 0), "logs/b.jsonl": (1, 0, 1, 0, 0)}
    stored = query(folder, "SELECT event_key, patient_id, key_conflict FROM events ORDER BY ts")
    assert stored[0] == ("api:r1", "P1", True)
    assert [p for _, p, _ in stored[1:]] == ["P2", "P3", "P4", "P5"]
    assert all(k.startswith("api:r1#") and len(k) == len("api:r1#") + 16 and flag for k, _, flag in stored[1:])
    assert len({k for k, _, _ in stored}) == 5
    conflicts = query(folder, "SELECT event_key, stored_key, first_source_line FROM conflicts ORDER BY source_line")
    assert [(c[0], c[2]) for c in conflicts] == [("api:r1", 1)] * 4
    assert run(capsys, "scope", str(folder))[0] == 0
    clean = make(tmp_path / "clean", files={"a.jsonl": b"\n".join(
        [owner] + [rec(request_id=f"r{i + 2}", when=f"2025-11-10T19:0{i}:00Z", ip="203.0.113.9", patient=f"P{i + 2}")
                   for i in range(4)]) + b"\n"})
    assert run(capsys, "ingest", str(clean), "--quiet")[0] == 0
    assert run(capsys, "scope", str(clean))[0] == 0
    assert affected(folder) == affected(clean) == [("PR1", f"P{i}", "opened") for i in range(2, 6)]


def test_json_records_differing_only_in_spacing_or_key_order_are_duplicates(tmp_path, capsys):
    first = b'{"request_id": "r1", "when": "2025-11-10T19:00:00Z", "who": "drA", "patient": "P1", "verb": "view"}'
    spaced = b'{ "request_id":"r1",  "when":"2025-11-10T19:00:00Z","who":"drA","patient":"P1","verb":"view" }'
    reordered = b'{"who": "drA", "verb": "view", "patient": "P1", "when": "2025-11-10T19:00:00Z", "request_id": "r1"}'
    other = b'{"who": "drA", "verb": "view", "patient": "P9", "when": "2025-11-10T19:00:00Z", "request_id": "r1"}'
    folder = make(tmp_path, files={"a.jsonl": first + b"\n" + spaced + b"\n", "b.jsonl": reordered + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert ledger(folder) == {"logs/a.jsonl": (2, 1, 1, 0, 0), "logs/b.jsonl": (1, 0, 1, 0, 0)}
    # a later ingest compares with the stored record on its text too (the record is read again from its file)
    (folder / "logs" / "c.jsonl").write_bytes(reordered.replace(b'"verb"', b' "verb" ') + b"\n" + other + b"\n")
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert ledger(folder)["logs/c.jsonl"] == (2, 0, 1, 1, 0)
    assert query(folder, "SELECT count(*) FROM events WHERE key_conflict") == [(2,)]


def test_a_corrected_mapping_is_re_applied_and_force_reads_everything_again(tmp_path, capsys):
    lines = b"\n".join(rec(request_id=f"r{i}", verb="DL", patient=f"P{i}") for i in range(1, 4)) + b"\n"
    folder = make(tmp_path, files={"a.jsonl": lines})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert query(folder, "SELECT DISTINCT action FROM events") == [("other",)]
    code, out, _ = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0 and "already ingested" in out
    toml = (folder / "case.toml").read_text().replace('action = "verb"\n', 'action = "verb"\n'
                                                     '[sources.api.maps.action]\nDL = "download"\n')
    (folder / "case.toml").write_text(toml)
    code, out, _ = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0 and "re-read: mapping changed" in out
    assert query(folder, "SELECT DISTINCT action FROM events") == [("download",)]
    assert ledger(folder) == {"logs/a.jsonl": (3, 3, 0, 0, 0)}
    assert query(folder, "SELECT sum(event_rows), count(DISTINCT source_id) FROM account_hours") == [(3, 1)]
    code, out, _ = run(capsys, "ingest", str(folder), "--quiet", "--force")
    assert code == 0 and "re-read: --force" in out
    assert query(folder, "SELECT count(*) FROM events") == [(3,)]


def test_files_whose_duplicates_point_at_a_re_read_file_are_read_again(tmp_path, capsys):
    toml = GATEWAY + GATEWAY.replace("[sources.api", "[sources.mirror").replace("logs/*.jsonl", "mirror/*.jsonl")
    folder = make(tmp_path, toml=toml, files={"a.jsonl": rec(request_id="r1") + b"\n"})
    (folder / "mirror").mkdir()
    (folder / "mirror" / "b.jsonl").write_bytes(rec(request_id="r1") + b"\n" + rec(request_id="r2") + b"\n")
    # the mirror source keys on the raw record instead: its first line repeats a.jsonl's line only by content,
    # so both sources key on the content hash
    toml = toml.replace('event_key = "request_id"\n', "")
    (folder / "case.toml").write_text(toml + '\n[reference.accounts]\nfile = "accounts.csv"\n'
                                      '[reference.patients]\nfile = "patients.csv"\n')
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert ledger(folder) == {"logs/a.jsonl": (1, 1, 0, 0, 0), "mirror/b.jsonl": (2, 1, 1, 0, 0)}
    text = (folder / "case.toml").read_text().replace('[sources.api.columns]', 'null_values = ["", "-"]\n'
                                                      '[sources.api.columns]', 1)
    (folder / "case.toml").write_text(text)
    code, out, _ = run(capsys, "ingest", str(folder), "api", "--quiet")
    assert code == 0
    assert "re-read: mapping changed" in out and "re-read: its duplicates or conflicts point at a re-read file" in out
    assert ledger(folder) == {"logs/a.jsonl": (1, 1, 0, 0, 0), "mirror/b.jsonl": (2, 1, 1, 0, 0)}
    assert query(folder, "SELECT d.first_source_id = e.source_id FROM duplicates d, evidence e "
                         "WHERE e.path = 'logs/a.jsonl'") == [(True,)]


def test_a_wrong_ts_format_fails_the_ingest_loudly_and_writes_nothing(tmp_path, capsys):
    lines = b"\n".join(rec(request_id=f"r{i}", when="10/Nov/2025 19:00") for i in range(10)) + b"\n"
    toml = GATEWAY.replace('[sources.api.columns]', 'ts_format = "%d/%b/%Y:%H:%M"\ntimezone = "UTC"\n'
                                                    '[sources.api.columns]')
    folder = make(tmp_path, toml=toml, files={"a.jsonl": lines})
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == InputError.exit_code
    assert "logs/a.jsonl: 10 of 10 lines quarantined (100%, more than 50%)" in err
    assert "bad timestamp (10 lines" in err and err.count("    line ") == 3
    assert query(folder, "SELECT count(*) FROM evidence") == [(0,)]
    (folder / "case.toml").write_text((folder / "case.toml").read_text().replace(
        'timezone = "UTC"\n', 'timezone = "UTC"\nmax_quarantined_share = 1\n', 1))
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert ledger(folder) == {"logs/a.jsonl": (10, 0, 0, 0, 10)}


def test_a_glob_matching_nothing_and_a_case_without_sources_are_errors(tmp_path, capsys):
    toml = GATEWAY.replace('files = ["logs/*.jsonl"]', 'files = ["logs/*.jsonl", "logs/*.jsnol"]')
    folder = make(tmp_path / "glob", toml=toml, files={"a.jsonl": rec() + b"\n"})
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == InputError.exit_code and "'logs/*.jsnol'" in err
    empty = make(tmp_path / "empty", toml="[case]\nname = \"x\"\n")
    code, _, err = run(capsys, "ingest", str(empty), "--quiet")
    assert code == ConfigError.exit_code and "no [sources]" in err


@pytest.mark.parametrize(("toml", "fragment"), [
    (GATEWAY.replace("[sources.api.columns]", 'ts_fromat = "%Y"\n[sources.api.columns]'),
     "unknown key 'ts_fromat' in [sources.api]\n  what to do: did you mean ts_format?"),
    ("[case]\nengin = \"spark\"\n" + GATEWAY, "did you mean engine?"),
    (GATEWAY.replace("[sources.api.columns]", "[sources.api.colums]"), "did you mean columns?"),
    (GATEWAY + INCIDENT + "[incident.indicator]\nips = []\n", "unknown key 'indicator' in [incident]"),
    (GATEWAY + "[reference.acounts]\nfile = \"x.csv\"\n", "did you mean accounts?"),
    (GATEWAY + "[[sources.api.rules]]\nwhen = { verb = \"x\" }\nsets = { action = \"view\" }\n",
     "unknown key 'sets' in [sources.api.rules]"),
    (GATEWAY + "[notify]\nsignatur = \"Dr\"\n", "did you mean signature?"),
])
def test_an_unknown_key_is_a_configuration_error_naming_the_nearest_known_key(tmp_path, capsys, toml, fragment):
    folder = make(tmp_path, toml=toml, files={"a.jsonl": rec() + b"\n"})
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == ConfigError.exit_code
    assert fragment in err


def test_reference_dates_without_a_zone_are_refused(tmp_path, capsys):
    accounts = "account_id,practice_id,active_from\ndrA,PR1,2020-01-01T00:00:00Z\ndrB,PR1,2020-01-01 08:00\n"
    folder = make(tmp_path, files={"a.jsonl": rec() + b"\n"}, accounts=accounts)
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == InputError.exit_code
    assert "accounts.csv: line 3: column active_from: 2020-01-01 08:00 has no UTC offset" in err
    assert "scoping never guesses" in err
    text = (folder / "case.toml").read_text().replace('file = "accounts.csv"\n',
                                                      'file = "accounts.csv"\ntimezone = "Europe/Paris"\n')
    (folder / "case.toml").write_text(text)
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert query(folder, "SELECT CAST(active_from AS VARCHAR) FROM accounts WHERE account_id = 'drB'") == [
        ("2020-01-01 07:00:00+00",)]


def test_a_capture_is_one_value_and_an_unclassified_patient_route_is_reported(tmp_path, capsys):
    toml = """
[sources.gw]
format = "jsonl"
files = ["logs/*.jsonl"]
patient_separator = ";"
[sources.gw.columns]
event_key = "request_id"
ts = "when"
account_id = "who"
[[sources.gw.rules]]
name = "patient"
when = { method = "^GET$", path = "^/api/v1/patients/(?P<patient_id>[^/?#]+)" }
[[sources.gw.rules]]
name = "notes"
when = { method = "^GET$", path = "/notes$" }
set = { action = "view", category = "clinical_note" }
"""
    lines = [rec(request_id="r1", method="GET", path="/api/v1/patients/P5;P7/notes"),
             rec(request_id="r2", method="GET", path="/api/v1/patients/P2/"),
             rec(request_id="r3", method="GET", path="/api/v1/patients/P3?fields=all")]
    folder = make(tmp_path, toml=toml, files={"a.jsonl": b"\n".join(lines) + b"\n"})
    code, out, _ = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0
    rows = query(folder, "SELECT event_key, patient_id, action, action_raw FROM events ORDER BY event_key")
    assert rows == [("gw:r1", "P5;P7", "view", "rule:notes"),
                    ("gw:r2", "P2", "other", "GET /api/v1/patients/P2/"),
                    ("gw:r3", "P3", "other", "GET /api/v1/patients/P3?fields=all")]
    assert "[sources.gw] action          1 event  (1 naming a patient): GET /api/v1/patients/P2/" in out


def test_addresses_compare_like_with_like(tmp_path, capsys):
    values = [" 203.0.113.9 ", "::ffff:203.0.113.9", "203.0.113.9:51234", "[2001:DB8:0:0::1]:443", "2001:db8::1"]
    lines = [rec(request_id=f"r{i}", ip=v, when=f"2025-11-10T19:0{i}:00Z") for i, v in enumerate(values)]
    toml = GATEWAY + INCIDENT + '[incident.indicators]\nips = ["203.0.113.0/24"]\n'
    folder = make(tmp_path, toml=toml, files={"a.jsonl": b"\n".join(lines) + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    rows = query(folder, "SELECT src_ip, src_ip_raw FROM events ORDER BY ts")
    assert [r[0] for r in rows] == ["203.0.113.9"] * 3 + ["2001:db8::1"] * 2
    assert [r[1] for r in rows] == values


def test_hostile_lines_cost_what_they_weigh_and_are_all_accounted_for(tmp_path, capsys):
    good = rec(request_id="r1")
    garbage = b"\x00garbage that is not json"
    body = good + b"\n" + b"\n" * 5000 + (garbage + b"\n") * 3000 + b"x" * 5000 + b"\n" + good + b"\n" + good + b"\n"
    toml = '[case]\nmax_line_bytes = "4KiB"\n' + GATEWAY.replace('files = ["logs/*.jsonl"]',
                                                               'files = ["logs/*.jsonl"]\nmax_quarantined_share = 1')
    folder = make(tmp_path, toml=toml, files={"a.jsonl": body})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert ledger(folder) == {"logs/a.jsonl": (8004, 1, 2, 0, 8001)}
    assert query(folder, "SELECT source_line, source_line_end, reason FROM quarantine ORDER BY source_line") == [
        (2, 5001, "empty line"), (5002, 8001, "unparseable JSON record"),
        (8002, None, "line longer than 4096 bytes: 5000 bytes")]
    assert query(folder, "SELECT source_line, source_line_end, first_source_line FROM duplicates "
                         "ORDER BY source_line") == [(8003, 8004, 1)]


def test_a_repeated_json_key_keeps_its_last_value_and_is_flagged(tmp_path, capsys):
    lines = [b'{"request_id": "r1", "when": "2025-11-10T19:00:00Z", "who": "drB", "who": "drA", "patient": "P1"}',
             b'{"request_id": "r2", "when": "2025-11-10T19:00:00Z", "who": {"login": "drB"}, "patient": "P2",'
             b' "who": {"login": "drA", "login": "drB"}}']
    toml = GATEWAY.replace('account_id = "who"', 'account_id = "who"').replace(
        "[sources.api]", "[sources.nested]\nformat = \"jsonl\"\nfiles = [\"nested/*.jsonl\"]\n"
        "[sources.nested.columns]\nevent_key = \"request_id\"\nts = \"when\"\naccount_id = \"who.login\"\n"
        "patient_id = \"patient\"\n[sources.api]")
    folder = make(tmp_path, toml=toml, files={"a.jsonl": lines[0] + b"\n"})
    (folder / "nested").mkdir()
    (folder / "nested" / "b.jsonl").write_bytes(lines[1] + b"\n")
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    rows = query(folder, "SELECT event_key, account_id, record_flags FROM events ORDER BY event_key")
    assert rows == [("api:r1", "drA", "repeated JSON key: who"),
                    ("nested:r2", "drB", "repeated JSON key: who")]


def test_links_leading_outside_the_case_are_refused_unless_the_source_allows_them(tmp_path, capsys):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.jsonl").write_bytes(rec() + b"\n")
    folder = make(tmp_path / "case", files={"a.jsonl": rec(request_id="r0") + b"\n"})
    (folder / "logs" / "b.jsonl").symlink_to(outside / "secret.jsonl")
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == ConfigError.exit_code and "logs/b.jsonl is a link to" in err and "secret.jsonl" in err
    text = (folder / "case.toml").read_text().replace('files = ["logs/*.jsonl"]',
                                                      'files = ["logs/*.jsonl"]\nfollow_symlinks = true')
    (folder / "case.toml").write_text(text)
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    absolute = make(tmp_path / "absolute", toml=GATEWAY.replace('"logs/*.jsonl"', f'"{outside}/*.jsonl"'))
    assert run(capsys, "ingest", str(absolute), "--quiet")[0] == 0


def test_a_json_array_of_patient_ids_is_a_result_list(tmp_path, capsys):
    lines = [rec(request_id="r1", verb="search", patient=["P1", "P2", 3, "P2"]),
             rec(request_id="r2", verb="search", patient=[]),
             rec(request_id="r3", verb="view", patient="P4")]
    folder = make(tmp_path, files={"a.jsonl": b"\n".join(lines) + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    rows = query(folder, "SELECT event_key, patient_id, category FROM events ORDER BY event_key, patient_id")
    assert rows == [("api:r1", "3", "patient_list"), ("api:r1", "P1", "patient_list"),
                    ("api:r1", "P2", "patient_list"), ("api:r2", None, "patient_list"), ("api:r3", "P4", "unknown")]
    assert ledger(folder) == {"logs/a.jsonl": (3, 3, 0, 0, 0)}


def test_a_store_written_before_these_columns_still_opens_and_is_re_read(tmp_path, capsys):
    folder = make(tmp_path, files={"a.jsonl": rec() + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    import duckdb

    con = duckdb.connect(str(folder / "case.duckdb"))
    for table, column in [("events", "src_ip_raw"), ("events", "record_flags"), ("events", "key_conflict"),
                          ("events", "content_digest"), ("evidence", "conflicts"), ("evidence", "source_sha256"),
                          ("quarantine", "source_line_end"), ("duplicates", "source_line_end"),
                          ("account_hours", "source_id")]:
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.execute("DROP TABLE conflicts")
    con.close()
    code, out, _ = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0 and "re-read: mapping changed" in out
    assert ledger(folder) == {"logs/a.jsonl": (1, 1, 0, 0, 0)}
    assert query(folder, "SELECT src_ip_raw, key_conflict FROM events") == [("10.0.0.1", False)]


def test_parquet_rows_lists_and_a_column_named_like_the_row(tmp_path, capsys):
    import polars as pl

    toml = ('[sources.lake]\nformat = "parquet"\nfiles = ["logs/*.parquet"]\n[sources.lake.columns]\nts = "t"\n'
            'account_id = "u"\npatient_id = "row"\nsrc_ip = "ip"\n')
    folder = make(tmp_path, toml=toml)
    pl.DataFrame({"t": ["2025-11-10T18:00:00Z"] * 4, "u": ["drA"] * 4,
                  "row": [["P1", "P2"], [], ["P3"], ["P3"]],
                  "ip": ["::ffff:1.2.3.4", "1.2.3.4:80", "[::1]", "[::1]"]}
                 ).write_parquet(folder / "logs" / "a.parquet")
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert ledger(folder) == {"logs/a.parquet": (4, 3, 1, 0, 0)}  # the same row twice is one record
    rows = query(folder, "SELECT patient_id, category, src_ip FROM events ORDER BY source_line, patient_id")
    assert rows == [("P1", "patient_list", "1.2.3.4"), ("P2", "patient_list", "1.2.3.4"),
                    (None, "patient_list", "1.2.3.4"), ("P3", "patient_list", "::1")]


def test_a_file_changed_between_hashing_and_reading_is_refused(tmp_path, capsys, monkeypatch):
    import scoping.ingest_plan as plan

    folder = make(tmp_path, files={"a.jsonl": rec() + b"\n"})
    real = plan.sha256_file

    def hash_then_append(path: Path):
        result = real(path)
        with path.open("ab") as fh:  # the content read would not be the content hashed
            fh.write(rec(request_id="late") + b"\n")
        return result

    monkeypatch.setattr(plan, "sha256_file", hash_then_append)
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == InputError.exit_code and "changed while it was being read" in err


def test_a_renamed_source_takes_its_files_and_a_removed_one_is_named_before_scope(tmp_path, capsys):
    from scoping import Case
    from scoping.completeness import check_evidence_complete
    from scoping.errors import IntegrityError

    folder = make(tmp_path, files={"a.jsonl": rec() + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    text = (folder / "case.toml").read_text()
    (folder / "case.toml").write_text(text.replace("[sources.api", "[sources.gateway"))
    code, out, _ = run(capsys, "ingest", str(folder), "--quiet")
    assert code == 0 and "re-read: ingested for [sources.api], which case.toml no longer defines" in out
    assert query(folder, "SELECT source, path FROM evidence WHERE kind = 'log'") == [("gateway", "logs/a.jsonl")]
    assert query(folder, "SELECT event_key FROM events") == [("gateway:r1",)]
    (folder / "other.jsonl").write_bytes(rec(request_id="r2") + b"\n")
    (folder / "case.toml").write_text(text.replace("[sources.api", "[sources.gateway") +
                                      GATEWAY.replace("api", "extra").replace("logs/*.jsonl", "other.jsonl"))
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    (folder / "case.toml").write_text(text.replace("[sources.api", "[sources.gateway"))
    removed = r"other.jsonl was ingested for \[sources.extra\], which case.toml no longer"
    with Case.open(folder) as case, pytest.raises(IntegrityError, match=removed):
        check_evidence_complete(case.runner, case.config)


def test_a_glob_reaching_scoping_s_own_files_is_refused(tmp_path, capsys):
    folder = make(tmp_path, files={"a.jsonl": rec() + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    text = (folder / "case.toml").read_text().replace('files = ["logs/*.jsonl"]', 'files = ["logs/*.jsonl", "*"]')
    (folder / "case.toml").write_text(text)
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == ConfigError.exit_code and "a file scoping writes" in err


def test_a_source_name_with_a_dot_is_checked_like_any_other(tmp_path, capsys):
    toml = GATEWAY.replace("[sources.api]", '[sources."api.v2"]').replace("[sources.api.columns]",
                                                                         '[sources."api.v2".columns]')
    folder = make(tmp_path, toml=toml, files={"a.jsonl": rec() + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert query(folder, "SELECT event_key FROM events") == [("api.v2:r1",)]
    folder2 = make(tmp_path / "typo", toml=toml.replace('ts = "when"', 'ts = "when"\ncolour = "x"'),
                   files={"a.jsonl": rec() + b"\n"})
    code, _, err = run(capsys, "ingest", str(folder2), "--quiet")
    assert code == ConfigError.exit_code and "unknown key 'colour' in [sources.\"api.v2\".columns]" in err


def test_a_csv_whose_lines_end_with_cr_alone_is_a_clean_error(tmp_path, capsys):
    toml = ('[sources.w]\nformat = "csv"\nfiles = ["logs/*.csv"]\n[sources.w.columns]\nevent_key = "id"\n'
            'ts = "t"\naccount_id = "u"\n')
    folder = make(tmp_path, toml=toml, files={"mac.csv": b"id,t,u\r1,2025-11-10T18:00:00Z,drA\r"})
    code, _, err = run(capsys, "ingest", str(folder), "--quiet")
    assert code == InputError.exit_code and "lines end with CR alone" in err


def test_a_conflict_across_sources_survives_re_reading_one_side(tmp_path, capsys):
    data = Path(__file__).parent / "data" / "balp"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "client.json").write_bytes((data / "AuditEvent-ex-auditBasicQueryGetClient.json").read_bytes())
    (tmp_path / "b" / "server.json").write_bytes((data / "AuditEvent-ex-auditBasicQueryGetServer.json").read_bytes())
    toml = '[sources.a]\nformat = "fhir"\nfiles = ["a/*"]\n[sources.b]\nformat = "fhir"\nfiles = ["b/*"]\n'
    (tmp_path / "case.toml").write_text(toml)
    assert run(capsys, "ingest", str(tmp_path), "--quiet")[0] == 0
    before = query(tmp_path, "SELECT event_key, key_conflict FROM events ORDER BY event_key")
    assert [flag for _, flag in before] == [True, True]
    (tmp_path / "case.toml").write_text(toml + 'timezone = "UTC"\n')  # source b's definition changes
    code, out, _ = run(capsys, "ingest", str(tmp_path), "--quiet")
    assert code == 0 and "re-read: mapping changed" in out
    assert query(tmp_path, "SELECT event_key, key_conflict FROM events ORDER BY event_key") == before
    assert ledger(tmp_path) == {"a/client.json": (1, 1, 0, 0, 0), "b/server.json": (1, 0, 0, 1, 0)}


def test_a_store_with_128_bit_digests_is_narrowed_once_and_keeps_telling_duplicates(tmp_path, capsys):
    """A store written when the content digest was the first 128 bits of the SHA-256: opened by this version, its
    digests become their upper 64 bits (this version's digest of the same record), so the same lines read again from
    a new copy of the file are duplicates, not conflicts."""
    import duckdb

    folder = make(tmp_path, files={"a.jsonl": rec(request_id="r1") + b"\n" + rec(request_id="r2") + b"\n"})
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    narrow = query(folder, "SELECT event_key, content_digest FROM events ORDER BY event_key")
    con = duckdb.connect(str(folder / "case.duckdb"))  # as the earlier version stored it: 128 bits
    con.execute("ALTER TABLE events ALTER content_digest SET DATA TYPE UHUGEINT USING "
                "(CAST(content_digest AS UHUGEINT) << 64) + 12345")
    con.close()
    (folder / "logs" / "b.jsonl").write_bytes((folder / "logs" / "a.jsonl").read_bytes() + rec(request_id="r3") + b"\n")
    assert run(capsys, "ingest", str(folder), "--quiet")[0] == 0
    assert query(folder, "SELECT data_type FROM duckdb_columns() WHERE table_name = 'events' "
                         "AND column_name = 'content_digest'") == [("UBIGINT",)]
    assert query(folder, "SELECT event_key, content_digest FROM events WHERE event_key <> 'api:r3' "
                         "ORDER BY event_key") == narrow
    assert ledger(folder) == {"logs/a.jsonl": (2, 2, 0, 0, 0), "logs/b.jsonl": (3, 1, 2, 0, 0)}


def test_a_field_only_late_records_hold_is_found_and_one_none_holds_is_warned_of(tmp_path, capsys):
    """The batch's first lines are asked first which fields they hold; a field only a record far beyond them holds
    is still found in the rest of the batch (no warning), and one that no record holds is warned of."""
    toml = GATEWAY.replace('action = "verb"', 'action = "verb"\nsession_id = "sess"\nuser_agent = "ua"') + INCIDENT
    lines = [rec(request_id=f"r{i}", **({"sess": "s1"} if i == 2500 else {})) for i in range(3000)]
    folder = make(tmp_path, toml=toml, files={"a.jsonl": b"\n".join(lines) + b"\n"})
    code, out, _ = run(capsys, "ingest", str(folder))
    assert code == 0
    assert 'session_id = "sess"' not in out
    assert 'user_agent = "ua": no record of its 1 file(s) holds this field' in out
    assert query(folder, "SELECT count(*) FROM events WHERE session_id = 's1'") == [(1,)]
