"""A dry run writes nothing; the evidence is complete before scope; expressions feed every canonical column."""

from __future__ import annotations

import shutil

import pytest
from ingest_helpers import GATEWAY, INCIDENT, make, query, rec, tree_digest

from scoping import Case, cli
from scoping.completeness import check_evidence_complete
from scoping.errors import ConfigError, IntegrityError

RULES = GATEWAY.replace('action = "verb"\n', "") + """
[[sources.api.rules]]
name = "read"
when = { verb = "^view$" }
set = { action = "view" }
[[sources.api.rules]]
name = "print"
when = { verb = "^print$" }
set = { action = "print" }
"""


def test_a_dry_run_shows_what_the_mapping_makes_of_the_first_lines_and_writes_nothing(tmp_path, capsys):
    lines = [rec(request_id=f"r{i}", verb="view" if i % 2 else "DL") for i in range(1, 2001)] + [b"not json"]
    folder = make(tmp_path, toml=RULES, files={"a.jsonl": b"\n".join(lines) + b"\n"})
    before = tree_digest(folder)
    assert cli.main(["ingest", str(folder), "--dry-run", "--sample", "100"]) == 0
    out = capsys.readouterr().out
    assert tree_digest(folder) == before and not (folder / "case.duckdb").exists()
    assert "the first 100 lines" in out and "100 lines read, 0 quarantined" in out
    assert "rule hits: read: 50; print: 0" in out and "rules that never matched: print" in out
    assert "unmapped action: DL: 50 lines (50 naming a patient)" in out
    assert out.count("\n  line ") == 5 and "line 1: 2025-11-10T19:00:00+00:00 drA view" in out


def test_a_dry_run_reports_quarantine_reasons_and_leaves_an_existing_store_unchanged(tmp_path, capsys):
    lines = [rec(request_id=f"r{i}") for i in range(1, 6)] + [b"{broken", b""]
    folder = make(tmp_path, files={"a.jsonl": b"\n".join(lines) + b"\n"})
    assert cli.main(["ingest", str(folder), "--quiet"]) == 0
    capsys.readouterr()
    before = tree_digest(folder)
    assert cli.main(["ingest", str(folder), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert tree_digest(folder) == before
    assert "7 lines read, 2 quarantined (29%)" in out
    assert "quarantined: empty line: 1 line " in out and "quarantined: unparseable JSON record: 1 line " in out


def _ingested(tmp_path):
    folder = make(tmp_path, toml=GATEWAY + INCIDENT, files={"a.jsonl": rec() + b"\n"})
    with Case.open(folder) as case:
        case.ingest(progress=False)
    return folder


def test_evidence_complete_before_scope(tmp_path):
    folder = _ingested(tmp_path)
    with Case.open(folder) as case:
        assert check_evidence_complete(case.runner, case.config) == 3  # one log, two reference tables
    (folder / "logs" / "a.jsonl").rename(folder / "logs" / "renamed.jsonl")  # same content, other name: fine
    shutil.move(folder / "patients.csv", folder / "patients-2025.csv")
    text = (folder / "case.toml").read_text().replace('"patients.csv"', '"patients-2025.csv"')
    (folder / "case.toml").write_text(text)
    with Case.open(folder) as case:
        assert check_evidence_complete(case.runner, case.config) == 3
    (folder / "logs" / "late.jsonl").write_bytes(rec(request_id="r9") + b"\n")
    with (folder / "accounts.csv").open("a") as fh:
        fh.write("drC,PR1,doctor,2020-01-01T00:00:00Z,\n")
    with Case.open(folder) as case, pytest.raises(IntegrityError) as err:
        check_evidence_complete(case.runner, case.config)
    message = str(err.value)
    assert "logs/late.jsonl matches [sources.api] but was never ingested" in message
    assert "[reference.accounts] accounts.csv differs from the table the store holds" in message
    assert "run `scoping ingest CASE`" in message and err.value.exit_code == 5
    with Case.open(folder) as case:
        case.ingest(progress=False)
        assert check_evidence_complete(case.runner, case.config) == 4


def test_evidence_changed_missing_or_read_with_another_mapping_stops_scope(tmp_path):
    folder = _ingested(tmp_path)
    (folder / "logs" / "b.jsonl").write_bytes(rec(request_id="r2") + b"\n")
    with Case.open(folder) as case:
        case.ingest(progress=False)
    (folder / "logs" / "a.jsonl").write_bytes(rec(request_id="r1", patient="P9") + b"\n")
    (folder / "logs" / "b.jsonl").unlink()
    text = (folder / "case.toml").read_text().replace('action = "verb"\n', 'action = "verb"\nresource_id = "ip"\n')
    (folder / "case.toml").write_text(text)
    with Case.open(folder) as case, pytest.raises(IntegrityError) as err:
        check_evidence_complete(case.runner, case.config)
    message = str(err.value)
    assert "logs/a.jsonl (ingested) changed" in message
    assert "logs/b.jsonl (ingested) is missing" in message


def test_mapping_changed_since_ingest_stops_scope(tmp_path):
    folder = _ingested(tmp_path)
    text = (folder / "case.toml").read_text().replace('action = "verb"\n', 'action = "verb"\nresource_id = "ip"\n')
    (folder / "case.toml").write_text(text)
    with Case.open(folder) as case, pytest.raises(IntegrityError, match="another definition of"):
        check_evidence_complete(case.runner, case.config)


TWO_FIELDS = """
[sources.app]
format = "csv"
files = ["logs/*.csv"]
ts_format = "%Y-%m-%d %H:%M:%S %z"
[sources.app.columns]
account_id = "user"
patient_id = "patient"
[sources.app.expressions]
ts = "{date} || ' ' || {offset}"
event_key = "{node} || '-' || {seq}"
session_id = "CASE WHEN {sid} IN ('-', '--', ';') THEN NULL ELSE 'from ' || {sid} || ';' END"
action_raw = "regexp_extract({user} || ' {3} ' || {node}, '\\\\{3\\\\} (.*)$', 1)"
resource_id = "{user} -- the login, again (a comment is harmless)"
"""


def test_expressions_feed_ts_key_and_session_from_any_fields(tmp_path):
    data = ("date,offset,node,seq,user,sid,patient\n2025-11-10 19:00:00,+0100,n1,7,drA,abc,P1\n"
            "2025-11-10 19:05:00,-0030,n1,8,drA,;,P2\n")
    folder = make(tmp_path, toml=TWO_FIELDS, files={"a.csv": data.encode()})
    with Case.open(folder) as case:
        case.ingest(progress=False)
    rows = query(folder, "SELECT CAST(ts AS VARCHAR), event_key, session_id, action_raw, resource_id FROM events "
                         "ORDER BY ts")
    assert rows == [("2025-11-10 18:00:00+00", "app:n1-7", "from abc;", "n1", "drA"),
                    ("2025-11-10 19:35:00+00", "app:n1-8", None, "n1", "drA")]


@pytest.mark.parametrize(("expr", "fragment"), [
    ("getenv('HOME') || {u}", "getenv()"),
    ("current_setting('threads') || {u}", "current_setting()"),
    ("{u} || (SELECT 1)", "a subquery"),
    ("read_text('/etc/passwd')", "uses no field"),
    ("{u} || (SELECT content FROM read_text('/etc/passwd'))", "a subquery"),
    ("count({u})", "an aggregate function count()"),
    ("row_number() OVER () || {u}", "a window function"),
    ("random() || {u}", "random()"),
    ("{u} || txt", "'txt' is not a field"),
    ("$p0 || {u}", "a $parameter"),
    ("{u} FROM events", "FROM"),
    ("{u}; DROP TABLE events", "only one value"),
    ("main.lower({u})", "the qualified function main.lower"),
])
def test_refused_expressions_name_the_source_the_column_and_the_construct(tmp_path, expr, fragment):
    toml = GATEWAY + f'[sources.api.expressions]\nresource_id = "{expr}"\n'
    folder = make(tmp_path, toml=toml, files={"a.jsonl": rec() + b"\n"})
    with pytest.raises(ConfigError) as err:
        Case.open(folder)
    assert "[sources.api].expressions.resource_id" in str(err.value) and fragment in str(err.value)
