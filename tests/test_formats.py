"""Standard formats: every FHIR AuditEvent example (HL7 R4, R5, IHE BALP), OpenEMR exports, Synthea.

The expected values were written by reading each example (agents, entities, codes), not by running the
code. ME = the 'myMachine.example.org' client agent, XP = the BALP example patient 'ex-patient',
EX = the HL7 example patient 'example', PIX = the HL7 v2 identifier of the pixQuery/media patient.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from scoping import Case

DATA = Path(__file__).parent / "data"
ME, XP, EX = "myMachine.example.org", ("ex-patient",), ("example",)
PIX = ("e3cdfc81a0d24bd^^^&2.16.840.1.113883.4.2&ISO",)
JS, BJ, CM = "John Smith", "Betty Jones", "Charley Miller"
OK, KO = "success", "failure"

EXPECTED = {
    # HL7 FHIR R4 core examples
    "fhir-r4/AuditEvent-example-disclosure.json": ("SomeIdiot@nowhere", "export", OK, EX),
    "fhir-r4/AuditEvent-example-error.json": ("95", "create", KO, None),
    "fhir-r4/AuditEvent-example-login.json": ("95", "login", OK, None),
    "fhir-r4/AuditEvent-example-logout.json": ("95", "logout", OK, None),
    "fhir-r4/AuditEvent-example-media.json": ("95", "export", OK, PIX),
    "fhir-r4/AuditEvent-example-pixQuery.json": ("95", "search", OK, PIX),
    "fhir-r4/AuditEvent-example-rest.json": ("95", "view", OK, EX),
    "fhir-r4/AuditEvent-example-search.json": ("95", "search", OK, None),
    "fhir-r4/AuditEvent-example.json": ("Grahame", "other", OK, None),
    # HL7 FHIR R5 core examples
    "fhir-r5/AuditEvent_0.json": ("95", "search", OK, None),
    "fhir-r5/AuditEvent_1.json": ("95", "logout", OK, None),
    "fhir-r5/AuditEvent_10.json": ("Practitioner/f001", "other", OK, EX),
    "fhir-r5/AuditEvent_11.json": ("SomeIdiot@nowhere", "export", OK, EX),
    "fhir-r5/AuditEvent_12.json": ("95", "create", KO, None),
    "fhir-r5/AuditEvent_2.json": ("95", "view", OK, EX),
    "fhir-r5/AuditEvent_3.json": (BJ, "create", OK, EX),
    "fhir-r5/AuditEvent_4.json": ("95", "export", OK, PIX),
    "fhir-r5/AuditEvent_5.json": ("95", "create", OK, EX),
    "fhir-r5/AuditEvent_6.json": ("95", "login", OK, None),
    "fhir-r5/AuditEvent_7.json": ("95", "search", OK, PIX),
    "fhir-r5/AuditEvent_8.json": ("Grahame", "other", OK, None),
    "fhir-r5/AuditEvent_9.json": ("Org1", "search", OK, EX),
    # IHE BALP 1.1.4
    "balp/AuditEvent-ex-auditAuthZconsent-deny.json": ("Practitioner/ex-practitioner", "other", KO, XP),
    "balp/AuditEvent-ex-auditAuthZconsent.json": ("Practitioner/ex-practitioner", "other", OK, XP),
    "balp/AuditEvent-ex-auditBasicCreate1.json": (BJ, "create", OK, XP),
    "balp/AuditEvent-ex-auditBasicCreate2.json": (CM, "create", OK, XP),
    "balp/AuditEvent-ex-auditBasicCreateClient.json": (JS, "create", OK, XP),
    "balp/AuditEvent-ex-auditBasicCreateNoPatient.json": (JS, "create", OK, None),
    "balp/AuditEvent-ex-auditBasicCreateNoUser.json": (ME, "create", OK, XP),
    "balp/AuditEvent-ex-auditBasicCreateNoUserJob.json": (ME, "create", OK, XP),
    "balp/AuditEvent-ex-auditBasicCreateNoUserReport.json": (ME, "create", OK, XP),
    "balp/AuditEvent-ex-auditBasicCreateServer.json": (JS, "create", OK, XP),
    "balp/AuditEvent-ex-auditBasicDelete2.json": (CM, "delete", OK, XP),
    "balp/AuditEvent-ex-auditBasicDeleteClient.json": (JS, "delete", OK, XP),
    "balp/AuditEvent-ex-auditBasicDeleteInformant.json": (BJ, "delete", OK, XP),
    "balp/AuditEvent-ex-auditBasicDeleteNoPatient.json": (JS, "delete", OK, None),
    "balp/AuditEvent-ex-auditBasicDeleteNoUser.json": (ME, "delete", OK, XP),
    "balp/AuditEvent-ex-auditBasicDeleteNoUserJob.json": (ME, "delete", OK, XP),
    "balp/AuditEvent-ex-auditBasicDeleteNoUserReport.json": (ME, "delete", OK, XP),
    "balp/AuditEvent-ex-auditBasicDeleteServer.json": (JS, "delete", OK, XP),
    "balp/AuditEvent-ex-auditBasicPatch.json": (JS, "update", OK, XP),
    "balp/AuditEvent-ex-auditBasicQueryGetClient.json": (JS, "search", OK, XP),
    "balp/AuditEvent-ex-auditBasicQueryGetNoPatient.json": (JS, "search", OK, None),
    "balp/AuditEvent-ex-auditBasicQueryGetServer.json": (JS, "search", OK, XP),
    "balp/AuditEvent-ex-auditBasicQueryPost.json": (JS, "search", OK, XP),
    "balp/AuditEvent-ex-auditBasicReadClient.json": (JS, "view", OK, XP),
    "balp/AuditEvent-ex-auditBasicReadNoPatient.json": (JS, "view", OK, None),
    "balp/AuditEvent-ex-auditBasicReadNoUser.json": ("Device/ex-device", "view", OK, XP),
    "balp/AuditEvent-ex-auditBasicReadOClient.json": ("JohnSmith", "view", OK, XP),
    "balp/AuditEvent-ex-auditBasicReadOServer.json": ("35fb1058-7f36-415b-b862-677a37c95f35", "view", OK, XP),
    "balp/AuditEvent-ex-auditBasicReadOServerMin.json": ("policy:C187CC480FAC40A0936902D8BC324F5F", "view", OK, XP),
    "balp/AuditEvent-ex-auditBasicReadServer.json": (JS, "view", OK, XP),
    "balp/AuditEvent-ex-auditBasicUpdate1.json": (BJ, "update", OK, XP),
    "balp/AuditEvent-ex-auditBasicUpdate2.json": (CM, "update", OK, XP),
    "balp/AuditEvent-ex-auditBasicUpdateNoPatient.json": (ME, "update", OK, None),
    "balp/AuditEvent-ex-auditBasicUpdateNoUser.json": (ME, "update", OK, XP),
    "balp/AuditEvent-ex-auditBasicUpdateNoUserJob.json": (ME, "update", OK, XP),
    "balp/AuditEvent-ex-auditBasicUpdateNoUserReport.json": (ME, "update", OK, XP),
    "balp/AuditEvent-ex-auditPoke-SAML-Comp.json": ("05086900124", "view", OK, None),
    "balp/AuditEvent-ex-auditPoke-SAML-Min.json": ("05086900124", "view", OK, None),
    "balp/AuditEvent-ex-auditPoke-SAML-Min2.json": ("JoeL", "view", OK, None),
    "balp/AuditEvent-ex-auditPoke-SAML-QDI-Comp.json": ("UID=kskagerb", "view", OK, None),
    "balp/AuditEvent-ex-auditPoke-SAML-QDI-Min.json": ("UID=kskagerb", "view", OK, None),
    "balp/AuditEvent-ex-auditPrivacyDisclosure-measurereport.json": ("Patient/ex-patient", "export", OK, XP),
    "balp/AuditEvent-ex-auditPrivacyDisclosure-recipient-minCodes.json": ("Patient/ex-patient", "create", OK, XP),
    "balp/AuditEvent-ex-auditPrivacyDisclosure-recipient.json": ("Patient/ex-patient", "create", OK, XP),
    "balp/AuditEvent-ex-auditPrivacyDisclosure-source.json": ("Patient/ex-patient", "export", OK, XP),
    "balp/AuditEvent-ex-auditPrivacyDisclosure-source2.json": ("Patient/ex-patient", "export", OK, XP),
}


def fhir_case(tmp_path: Path, files: list[Path], glob: str = "logs/*") -> Case:
    (tmp_path / "logs").mkdir(exist_ok=True)
    for f in files:
        shutil.copy(f, tmp_path / "logs" / f.name)
    (tmp_path / "case.toml").write_text(f'[sources.audit]\nformat = "fhir"\nfiles = ["{glob}"]\n')
    return Case.open(tmp_path)


def test_every_example_is_in_the_table():
    on_disk = {str(p.relative_to(DATA)) for d in ("fhir-r4", "fhir-r5", "balp") for p in (DATA / d).glob("AuditEvent*")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_auditevent_example(tmp_path, name):
    account, action, outcome, patients = EXPECTED[name]
    with fhir_case(tmp_path, [DATA / name]) as case:
        case.ingest(progress=False)
        ev = case.sql("SELECT * FROM events ORDER BY patient_id")
        q = case.sql("SELECT * FROM quarantine")
    assert q.height == 0, q.to_dicts()
    assert set(ev["account_id"]) == {account}
    assert set(ev["action"]) == {action}
    assert set(ev["outcome"]) == {outcome}
    got = tuple(p for p in ev["patient_id"].to_list() if p is not None) or None
    assert got == patients
    if patients:
        assert ev["patient_link"][0].startswith("fhir:")


def test_client_and_server_records_of_one_call_are_two_versions_of_one_key(tmp_path):
    """They share the call's X-Request-Id but say different things (the observer differs): a conflict, both kept
    and flagged, never one silently dropped. The same record twice is a duplicate."""
    files = [DATA / "balp" / f"AuditEvent-ex-auditBasic{n}.json" for n in ("QueryGetClient", "QueryGetServer")]
    with fhir_case(tmp_path, files) as case:
        case.ingest(progress=False)
        keys = case.sql("SELECT DISTINCT event_key, key_conflict FROM events ORDER BY event_key").rows()
        assert len(keys) == 2 and all(flag for _, flag in keys)
        assert keys[1][0].startswith(keys[0][0] + "#")
        assert case.sql("SELECT sum(conflicts) AS c, sum(duplicates) AS d FROM evidence").row(0) == (1, 0)
    again = tmp_path / "again"
    again.mkdir()
    with fhir_case(again, [files[0]]) as case:
        (again / "logs" / "copy.json").write_text(json.dumps(json.loads(files[0].read_text()), indent=4))
        case.ingest(progress=False)
        assert case.sql("SELECT sum(duplicates) AS d, sum(conflicts) AS c FROM evidence").row(0) == (1, 0)


def test_ndjson_gzip_and_bundle_give_the_same_events(tmp_path):
    names = sorted(p for p in EXPECTED if p.startswith("fhir-r5/"))
    resources = [json.loads((DATA / n).read_text()) for n in names]
    nd = tmp_path / "nd"
    (nd / "logs").mkdir(parents=True)
    lines = "\n".join(json.dumps(r) for r in resources) + "\n"
    (nd / "logs" / "export.ndjson.gz").write_bytes(gzip.compress(lines.encode()))
    (nd / "case.toml").write_text('[sources.audit]\nformat = "fhir"\nfiles = ["logs/*"]\n')
    bundle = tmp_path / "bundle"
    (bundle / "logs").mkdir(parents=True)
    doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    (bundle / "logs" / "bundle.json").write_text(json.dumps(doc, indent=2))
    (bundle / "case.toml").write_text('[sources.audit]\nformat = "fhir"\nfiles = ["logs/*"]\n')
    frames = []
    for folder in (nd, bundle):
        with Case.open(folder) as case:
            case.ingest(progress=False)
            frames.append(case.sql("SELECT event_key, ts, account_id, action, patient_id, outcome, source_line "
                                   "FROM events ORDER BY event_key, patient_id"))
            assert case.sql("SELECT lines_read FROM evidence")["lines_read"][0] == len(resources)
    assert frames[0].equals(frames[1])


def test_not_an_auditevent_and_broken_documents_are_quarantined(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.ndjson").write_text('{"resourceType": "Patient", "id": "x"}\n{"resourceType": "AuditEv\n')
    (tmp_path / "logs" / "b.json").write_text('{\n "resourceType": "Bundle",\n "entry": [\n')
    (tmp_path / "case.toml").write_text('[sources.audit]\nformat = "fhir"\nfiles = ["logs/*"]\n'
                                        'max_quarantined_share = 1\n')
    with Case.open(tmp_path) as case:
        case.ingest(progress=False)
        reasons = case.sql("SELECT reason FROM quarantine ORDER BY source_id, source_line")["reason"].to_list()
    assert any(r.startswith("not an AuditEvent (resourceType Patient)") for r in reasons)
    assert reasons.count("unparseable JSON record") == 2


OPENEMR_COLUMNS = ("id,date,event,category,user,groupname,comments,user_notes,patient_id,success,checksum,crt_user,"
                   "log_from,menu_item_id,ccda_doc_id\n")
OPENEMR_LOG = OPENEMR_COLUMNS + """\
1,2025-11-10 19:00:00,login,Security,drx,Default,,,0,1,,,open-emr,0,
2,2025-11-10 19:01:00,view,Patient Demographics,drx,Default,,,7,1,,,open-emr,0,
3,2025-11-10 19:02:00,patient-record-select,Medication,drx,Default,c2VsZWN0,,7,1,,,open-emr,0,
4,2025-11-10 19:03:00,patient-record-update,Problem List,drx,Default,dXBkYXRl,,7,1,,,open-emr,0,
5,2025-11-10 19:04:00,login,Security,mallory,Default,,,0,0,,,open-emr,0,
6,2025-11-10 19:05:00,patient-record-select,Lab Result,drx,Default,,,0,1,,,open-emr,0,
7,2025-11-10 19:06:00,patient-record-select,Patient Demographics,drx,Default,,,7,1,,,open-emr,0,
"""
OPENEMR_API = """id,log_id,user_id,patient_id,ip_address,method,request,request_url,request_body,response,created_time
1,7,3,9,203.0.113.9,GET,/apis/default/api/patient,/apis/default/api/patient/9,,,2025-11-10 19:06:00
"""


def test_openemr_log_and_api_log_with_their_caveats(tmp_path):
    (tmp_path / "openemr").mkdir()
    (tmp_path / "openemr" / "log.csv").write_text(OPENEMR_LOG)
    (tmp_path / "openemr" / "api_log.csv").write_text(OPENEMR_API)
    (tmp_path / "case.toml").write_text('[sources.emr]\nformat = "openemr"\nfiles = ["openemr/log.csv"]\n'
                                        'api_log = "openemr/api_log.csv"\ntimezone = "America/New_York"\n')
    with Case.open(tmp_path) as case:
        case.ingest(progress=False)
        ev = case.sql("SELECT event_key, ts, account_id, action, category, patient_id, patient_link, outcome, "
                      "src_ip FROM events ORDER BY event_key")
    rows = {r["event_key"]: r for r in ev.iter_rows(named=True)}
    assert str(rows["emr:1"]["ts"]) == "2025-11-11 00:00:00+00:00"        # New York is UTC-5 in November
    assert rows["emr:2"]["patient_link"] == "openemr:explicit_column" and rows["emr:2"]["action"] == "view"
    assert rows["emr:3"]["patient_link"] == "openemr:session_context" and rows["emr:3"]["category"] == "prescription"
    assert rows["emr:4"]["action"] == "update" and rows["emr:4"]["category"] == "diagnosis"
    assert rows["emr:5"]["action"] == "login_failed" and rows["emr:5"]["outcome"] == "failure"
    assert rows["emr:6"]["patient_id"] is None                            # 0 means no patient
    assert rows["emr:7"]["patient_id"] == "9" and rows["emr:7"]["src_ip"] == "203.0.113.9"
    assert rows["emr:7"]["patient_link"] == "openemr:explicit_column (api_log)"


def test_openemr_requires_a_time_zone(tmp_path):
    from scoping import ConfigError

    (tmp_path / "case.toml").write_text('[sources.emr]\nformat = "openemr"\nfiles = ["log.csv"]\n')
    with pytest.raises(ConfigError, match="time zone is required"):
        Case.open(tmp_path)


def test_synthea_sample_loads_as_patients_and_care(tmp_path):
    shutil.copytree(DATA / "synthea", tmp_path / "synthea")
    shutil.copy(DATA / "fhir-r4" / "AuditEvent-example-login.json", tmp_path / "audit.json")
    (tmp_path / "case.toml").write_text(
        '[sources.audit]\nformat = "fhir"\nfiles = ["audit.json"]\n'
        '[reference.patients]\nfile = "synthea/patients.csv"\n[reference.patients.columns]\npatient_id = "Id"\n'
        'practice_id = "COUNTY"\n'
        '[reference.care]\nfile = "synthea/encounters.csv"\n[reference.care.columns]\npatient_id = "PATIENT"\n'
        'practice_id = "ORGANIZATION"\naccount_id = "PROVIDER"\nkind = "ENCOUNTERCLASS"\n'
        'start = "START"\nend = "STOP"\n')
    with Case.open(tmp_path) as case:
        case.ingest(progress=False)
        assert case.sql("SELECT count(*) AS n FROM patients")["n"][0] == 27
        care = case.sql("SELECT count(*) AS n, count(start_ts) AS s FROM care").row(0)
    assert care == (603, 603)  # 604 encounters; two are the same relationship once mapped (same times)


def test_synthetic_world_as_fhir_gives_the_same_lists(world_factory):
    csv_world = world_factory(seed=5, scale=0.2)
    fhir_world = world_factory(seed=5, scale=0.2, formats=("fhir",))
    out = []
    for folder in (csv_world, fhir_world):
        with Case.open(folder) as case:
            case.ingest(progress=False)
            result = case.scope()
        # FHIR has no verb for download/print/share (written as DCM Export) and takes data categories from
        # resource types: the lists, exposures, times and accounts must be the same, not the vocabulary
        out.append(result.affected.select("practice_id", "patient_id", "exposure", "modified", "first_access_utc",
                                          "last_access_utc", "accounts"))
    truth = pl.read_csv(csv_world / "truth/affected_patients.csv", infer_schema=False)
    assert out[1].height == truth.height
    assert out[0].equals(out[1])
