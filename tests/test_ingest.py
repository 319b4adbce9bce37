"""Ingest: every format and mapping rule, and every line accounted for."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pytest

from scoping import Case, ConfigError, InputError

ACCOUNTS = "account_id,practice_id,role,active_from,active_until\ndrA,PR1,doctor,2020-01-01,\n"


def make_case(tmp_path: Path, source_toml: str, files: dict[str, bytes], *, accounts: str = ACCOUNTS) -> Case:
    (tmp_path / "logs").mkdir(exist_ok=True)
    for name, data in files.items():
        (tmp_path / "logs" / name).write_bytes(data)
    (tmp_path / "accounts.csv").write_text(accounts)
    (tmp_path / "case.toml").write_text(source_toml + '\n[reference.accounts]\nfile = "accounts.csv"\n'
                                        'timezone = "UTC"\n')
    return Case.open(tmp_path)


CSV_SOURCE = """
[sources.web]
format = "csv"
files = ["logs/*.csv"]
ts_format = "%Y-%m-%d %H:%M:%S"
timezone = "Europe/Paris"
patient_separator = ";"
[sources.web.columns]
event_key = "id"
ts = "t"
account_id = "u"
action = "a"
patient_id = "p"
outcome = "r"
[sources.web.maps.action]
V = "view"
X = "export"
[sources.web.maps.outcome]
OK = "success"
NO = "failure"
"""


def events(case: Case) -> pl.DataFrame:
    return case.sql("SELECT * FROM events ORDER BY source_id, source_line, patient_id")


def ledger(case: Case) -> pl.DataFrame:
    return case.sql("SELECT path, lines_read, events_loaded, duplicates, quarantined, dst_flagged FROM evidence "
                    "WHERE kind = 'log' ORDER BY path")


def test_csv_maps_values_spreads_patients_and_converts_local_time(tmp_path):
    data = b"id,t,u,a,p,r\n1,2025-11-10 19:00:00,drA,V,P1,OK\n2,2025-11-10 19:01:00,drA,X,P1;P2; P3 ,OK\n" \
           b"3,2025-11-10 19:02:00,drA,ZZ,P4,NO\n"
    with make_case(tmp_path, CSV_SOURCE, {"a.csv": data}) as case:
        case.ingest(progress=False)
        ev = events(case)
    assert ev["patient_id"].to_list() == ["P1", "P1", "P2", "P3", "P4"]
    assert ev["action"].to_list() == ["view", "export", "export", "export", "other"]
    assert ev.filter(pl.col("patient_id") == "P4")["action_raw"][0] == "ZZ"
    assert ev["outcome"].to_list()[-1] == "failure"
    assert str(ev["ts"][0]) == "2025-11-10 18:00:00+00:00"
    assert ev["event_key"].to_list()[:2] == ["web:1", "web:2"]


def test_quarantine_reasons_and_ledger(tmp_path):
    data = (b"id,t,u,a,p,r\n1,2025-11-10 19:00:00,drA,V,P1,OK\nbroken line\n\n2,notatime,drA,V,P1,OK\n"
            b"3,2025-11-10 19:00:00,,V,P1,OK\n4,2025-11-10 19:00:00,drA,V,\"P\xff\",OK\n"
            b'5,"2025-11-10 19:00:00",drA,"V","P""q",OK\n6,2025-11-10 19:00:00,drA,V,"P1,OK\n'
            b"1,2025-11-10 19:00:00,drA,V,P1,OK\r\n")
    src = CSV_SOURCE.replace('patient_separator = ";"', 'patient_separator = ";"\nmax_quarantined_share = 1')
    with make_case(tmp_path, src, {"a.csv": data}) as case:
        case.ingest(progress=False)
        q = case.sql("SELECT source_line, reason FROM quarantine ORDER BY source_line")
        led = ledger(case).row(0, named=True)
        ev = events(case)
    reasons = dict(zip(q["source_line"].to_list(), q["reason"].to_list(), strict=True))
    assert reasons[3].startswith("wrong number of fields")
    assert reasons[4] == "empty line"
    assert reasons[5].startswith("bad timestamp")
    assert reasons[6] == "missing account"
    assert reasons[7] == "invalid UTF-8"
    assert reasons[9] == "malformed quoting"
    assert led["lines_read"] == 9 and led["events_loaded"] == 2 and led["duplicates"] == 1
    assert led["quarantined"] == 6
    assert 'P"q' in ev["patient_id"].to_list()


def test_naive_timestamps_without_time_zone_are_a_configuration_error(tmp_path):
    src = CSV_SOURCE.replace('ts_format = "%Y-%m-%d %H:%M:%S"\ntimezone = "Europe/Paris"\n', "")
    data = b"id,t,u,a,p,r\n1,2025-11-10T19:00:00+01:00,drA,V,P1,OK\n2,2025-11-10 19:00:00,drA,V,P1,OK\n"
    with make_case(tmp_path, src, {"a.csv": data}) as case, pytest.raises(ConfigError) as err:
        case.ingest(progress=False)
    assert "line 3" in str(err.value) and "time zone" in str(err.value)
    with Case.open(tmp_path) as case:
        assert case.sql("SELECT count(*) AS n FROM events")["n"][0] == 0  # rolled back


def test_strptime_without_offset_requires_a_time_zone_at_load(tmp_path):
    src = CSV_SOURCE.replace('timezone = "Europe/Paris"\n', "")
    with pytest.raises(ConfigError, match="time zone is required"):
        make_case(tmp_path, src, {"a.csv": b"id,t,u,a,p,r\n"})


def test_daylight_saving_overlap_and_gap_are_flagged(tmp_path):
    data = (b"id,t,u,a,p,r\n1,2025-10-26 02:30:00,drA,V,P1,OK\n2,2025-03-30 02:30:00,drA,V,P1,OK\n"
            b"3,2025-10-26 04:30:00,drA,V,P1,OK\n")
    with make_case(tmp_path, CSV_SOURCE, {"a.csv": data}) as case:
        case.ingest(progress=False)
        ev = events(case)
        assert ledger(case)["dst_flagged"][0] == 2
    assert ev["ts_flag"].to_list() == ["dst_ambiguous", "dst_nonexistent", None]


def test_timestamp_formats(tmp_path):
    cases = {
        "iso8601": ("2025-11-10T18:00:00Z", "2025-11-10 18:00:00+00:00"),
        "epoch_s": ("1762797600", "2025-11-10 18:00:00+00:00"),
        "epoch_ms": ("1762797600123", "2025-11-10 18:00:00.123000+00:00"),
        "%d/%b/%Y:%H:%M:%S.%g %z": ("10/Nov/2025:19:00:00.123 +0100", "2025-11-10 18:00:00.123000+00:00"),
    }
    for i, (fmt, (raw, expected)) in enumerate(cases.items()):
        folder = tmp_path / str(i)
        folder.mkdir()
        src = CSV_SOURCE.replace('ts_format = "%Y-%m-%d %H:%M:%S"', f'ts_format = "{fmt}"')
        data = f"id,t,u,a,p,r\n1,{raw},drA,V,P1,OK\n".encode()
        with make_case(folder, src, {"a.csv": data}) as case:
            case.ingest(progress=False)
            assert str(events(case)["ts"][0]) == expected, fmt


def test_iso8601_zone_names_are_read_and_other_trailing_text_is_quarantined(tmp_path):
    """UTC, GMT and Z are offset 0, whatever the source's time zone; any other text after the time is never
    dropped (DuckDB's cast ignores it, or reads a zone name as ICU does): the line is quarantined, saying why."""
    src = CSV_SOURCE.replace('ts_format = "%Y-%m-%d %H:%M:%S"', 'ts_format = "iso8601"')
    stamps = ["2025-11-10 17:30:00 UTC", "2025-11-10T17:30:00Z", "2025-11-10 17:30:00 GMT",
              "2025-11-10 17:30:00 +0000", "2025-11-10 18:30:00+01:00", "2025-11-10 18:30:00",
              "2025-11-10 19:05:00 garbage", "2025-11-10 19:05:00 PST", "2025-11-10 19:05:00 Europe/Paris"]
    data = "id,t,u,a,p,r\n" + "".join(f"{i},{t},drA,V,P1,OK\n" for i, t in enumerate(stamps))
    with make_case(tmp_path, src, {"a.csv": data.encode()}) as case:
        case.ingest(progress=False)
        ev = events(case)
        reasons = case.sql("SELECT reason FROM quarantine ORDER BY source_line")["reason"].to_list()
        assert ledger(case).row(0)[1:5] == (9, 6, 0, 3)
    assert {str(t) for t in ev["ts"]} == {"2025-11-10 17:30:00+00:00"}  # Paris 18:30 in November is 17:30 UTC
    assert reasons == [f"bad timestamp (text after the time that is not Z, UTC, GMT or a numeric offset): {t}"
                       for t in stamps[6:]]


def test_tsv_without_header(tmp_path):
    src = CSV_SOURCE.replace('format = "csv"',
                             'format = "tsv"\nheader = false\ncolumn_names = ["id","t","u","a","p","r"]')
    src = src.replace('files = ["logs/*.csv"]', 'files = ["logs/*.tsv"]')
    data = b"1\t2025-11-10 19:00:00\tdrA\tV\tP1\tOK\n"
    with make_case(tmp_path, src, {"a.tsv": data}) as case:
        case.ingest(progress=False)
        assert events(case)["patient_id"].to_list() == ["P1"]
        assert ledger(case)["lines_read"][0] == 1


JSON_SOURCE = """
[sources.api]
format = "jsonl"
files = ["logs/*.jsonl*"]
[sources.api.columns]
ts = "when"
account_id = "who.login"
patient_id = "body.patients"
[[sources.api.rules]]
name = "read"
when = { "req.method" = "^GET$", "req.path" = "^/p/(?P<patient_id>[^/]+)/(?P<resource_type>notes|labs)$" }
set = { action = "view" }
[[sources.api.rules]]
name = "notes"
when = { "req.path" = "/notes$" }
set = { category = "clinical_note" }
[[sources.api.rules]]
name = "export"
when = { "req.method" = "^POST$", "req.path" = "^/exports$" }
set = { action = "export", category = "patient_list" }
[[sources.api.rules]]
name = "denied"
when = { status = "^403$" }
set = { outcome = "failure" }
"""


def test_jsonl_gzip_nested_fields_rules_and_hash_keys(tmp_path):
    recs = [
        {"when": "2025-11-10T18:00:00Z", "who": {"login": "drA"}, "req": {"method": "GET", "path": "/p/P1/notes"},
         "status": 200},
        {"when": "2025-11-10T18:00:01Z", "who": {"login": "drA"}, "req": {"method": "GET", "path": "/p/P2/labs"},
         "status": 403},
        {"when": "2025-11-10T18:00:02Z", "who": {"login": "drA"}, "req": {"method": "POST", "path": "/exports"},
         "body": {"patients": ["P3", "P4"]}, "status": 200},
        {"when": "2025-11-10T18:00:03Z", "who": {"login": "drA"}, "req": {"method": "DELETE", "path": "/x"}},
    ]
    text = "\n".join(json.dumps(r) for r in recs) + "\n" + '{"when": "2025-11-10T18:00:0' + "\n"
    with make_case(tmp_path, JSON_SOURCE, {"a.jsonl.gz": gzip.compress(text.encode())}) as case:
        case.ingest(progress=False)
        ev = events(case)
        led = ledger(case).row(0, named=True)
    assert ev["patient_id"].to_list() == ["P1", "P2", "P3", "P4", None]
    assert ev["action"].to_list() == ["view", "view", "export", "export", "other"]
    assert ev["category"].to_list()[:3] == ["clinical_note", "unknown", "patient_list"]
    assert ev["resource_type"].to_list()[:2] == ["notes", "labs"]
    assert ev["outcome"].to_list()[1] == "failure"
    assert ev["patient_link"].to_list()[:3] == ["rule:read", "rule:read", "field:body.patients"]
    assert all(k.startswith("sha256:") for k in ev["event_key"])
    assert led["lines_read"] == 5 and led["quarantined"] == 1


def test_truncated_gzip_keeps_what_precedes_the_damage(tmp_path):
    lines = "\n".join(json.dumps({"when": f"2025-11-10T18:00:{i:02d}Z", "who": {"login": "drA"}}) for i in range(50))
    data = gzip.compress((lines + "\n").encode())
    with make_case(tmp_path, JSON_SOURCE, {"a.jsonl.gz": data[: len(data) - 30]}) as case:
        case.ingest(progress=False)
        led = ledger(case).row(0, named=True)
        q = case.sql("SELECT reason FROM quarantine ORDER BY source_line")
    assert led["events_loaded"] >= 40
    assert led["lines_read"] == led["events_loaded"] + led["quarantined"]
    assert q["reason"][-1].startswith("compressed stream ends early")


def test_parquet_source(tmp_path):
    df = pl.DataFrame({"t": ["2025-11-10T18:00:00Z", "garbage"], "u": ["drA", "drA"], "p": ["P1", "P2"]})
    (tmp_path / "logs").mkdir()
    df.write_parquet(tmp_path / "logs" / "a.parquet")
    src = ('[sources.lake]\nformat = "parquet"\nfiles = ["logs/*.parquet"]\n[sources.lake.columns]\n'
           'ts = "t"\naccount_id = "u"\npatient_id = "p"\n')
    with make_case(tmp_path, src, {}) as case:
        case.ingest(progress=False)
        assert events(case)["patient_id"].to_list() == ["P1"]
        assert ledger(case)["quarantined"][0] == 1


def test_rotated_file_repeating_lines_counts_them_once_and_reingest_loads_nothing(tmp_path):
    a = b"id,t,u,a,p,r\n1,2025-11-10 19:00:00,drA,V,P1,OK\n2,2025-11-10 19:01:00,drA,V,P2,OK\n"
    b = b"id,t,u,a,p,r\n2,2025-11-10 19:01:00,drA,V,P2,OK\n3,2025-11-10 19:02:00,drA,V,P3,OK\n"
    with make_case(tmp_path, CSV_SOURCE, {"a.csv": a, "b.csv": b}) as case:
        case.ingest(progress=False)
        assert ledger(case)["duplicates"].to_list() == [0, 1]
        again = case.ingest(progress=False)
        assert all(f.status.startswith("already ingested") for f in again.files)
        assert case.sql("SELECT count(*) AS n FROM events")["n"][0] == 3
        dup = case.sql("SELECT * FROM duplicates").row(0, named=True)
        assert dup["first_source_line"] == 3


def test_missing_field_names_the_file_and_the_columns(tmp_path):
    with make_case(tmp_path, CSV_SOURCE, {"a.csv": b"id,time,u,a,p,r\n"}) as case, pytest.raises(ConfigError) as e:
        case.ingest(progress=False)
    assert "'t'" in str(e.value) and "time" in str(e.value)


def test_no_file_matches_is_an_input_error(tmp_path):
    with make_case(tmp_path, CSV_SOURCE.replace("logs/*.csv", "nowhere/*.csv"), {}) as case, \
            pytest.raises(InputError, match="no file matches"):
        case.ingest(progress=False)


def test_bad_reference_row_names_the_line(tmp_path):
    bad = ACCOUNTS + "drB,PR1,doctor,yesterday,\n"
    with make_case(tmp_path, CSV_SOURCE, {"a.csv": b"id,t,u,a,p,r\n"}, accounts=bad) as case, \
            pytest.raises(InputError, match="line 3: active_from"):
        case.ingest(progress=False)


def test_evidence_files_are_never_modified(tmp_path):
    data = b"id,t,u,a,p,r\n1,2025-11-10 19:00:00,drA,V,P1,OK\n"
    with make_case(tmp_path, CSV_SOURCE, {"a.csv": data}) as case:
        path = tmp_path / "logs" / "a.csv"
        before = (path.read_bytes(), path.stat().st_mtime_ns)
        case.ingest(progress=False)
        assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_expressions_compute_a_column_from_fields(tmp_path):
    src = CSV_SOURCE.replace('account_id = "u"\n', "") + (
        '[sources.web.expressions]\naccount_id = "lower(trim({u})) || \'@\' || {r}"\n')
    data = b"id,t,u,a,p,r\n1,2025-11-10 19:00:00, DrA ,V,P1,OK\n"
    with make_case(tmp_path, src, {"a.csv": data}) as case:
        case.ingest(progress=False)
        assert events(case)["account_id"].to_list() == ["dra@OK"]


@pytest.mark.parametrize("expr", ["(SELECT 1)", "{u}; DROP TABLE events", "read_text('/etc/passwd')",
                                  "{u}) || (SELECT 1", "42"])
def test_expressions_cannot_read_files_query_or_change_the_store(tmp_path, expr):
    src = CSV_SOURCE + f'[sources.web.expressions]\nresource_id = "{expr}"\n'
    with pytest.raises(ConfigError):
        make_case(tmp_path, src, {"a.csv": b"id,t,u,a,p,r\n"})
