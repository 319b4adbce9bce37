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
    columns = ["practice_id", "patient_id", "exposure", "modified", "first_access_utc", "last_access_utc", "accounts"]
    out = []
    for folder in (csv_world, fhir_world):
        with Case.open(folder) as case:
            case.ingest(progress=False)
            result = case.scope()
        # FHIR has no verb for download/print/share (written as DCM Export) and takes data categories from
        # resource types: the lists, exposures, times and accounts must be right, not the vocabulary. Times are
        # each log's own (the CSV export keeps whole seconds, FHIR milliseconds), each equal to its world's truth.
        got = result.affected.select(columns)
        truth = pl.read_csv(folder / "truth/affected_patients.csv", infer_schema=False).select(columns)
        assert got.equals(truth), folder.name
        out.append(got.drop("first_access_utc", "last_access_utc"))
    assert out[0].equals(out[1])


# --- a patient acting for themselves: AuditEvents written by a FHIR server for a patient-facing app ---------
SERVERS = DATA / "fhir-servers"
PERSON = "person.5f3ca115-8630-5e55-a97d-4d6ee26c0adc"   # icanbwell's proxy patient of the test's Person
AGENT = "agent_patient"


def _server_record(name: str) -> dict:
    """A committed server record. icanbwell's test removes `recorded` (the server's clock) before comparing,
    so the expected record has none: one is put back, as the server writes it."""
    return {**json.loads((SERVERS / name).read_text()), "recorded": "2026-08-20T20:44:55.123Z"}


def _server_cases() -> dict[str, tuple[dict, str, str, str, tuple[str, ...], str]]:
    scope = _server_record("icanbwell-patient-scope.json")
    delegated = _server_record("icanbwell-delegated-actor.json")
    # the same access in R5's shape (category/code, outcome.code, networkString), as an R5 server writes it
    r5 = {"resourceType": "AuditEvent", "recorded": scope["recorded"], "action": "R",
          "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                                    "code": "rest"}]}],
          "code": {"coding": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "read"}]},
          "outcome": {"code": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-outcome", "code": "0"}},
          "agent": [{"who": {"reference": scope["agent"][0]["who"]["reference"]}, "requestor": True,
                     "networkString": "203.0.113.5"}],
          "source": scope["source"], "entity": [{"what": {"reference": scope["entity"][0]["what"]["reference"]}}]}
    # BALP: the user agent is the patient (v3-RoleClass PAT, as BALP's UserAgentTypes value set says), on the
    # BALP read example that names no patient
    balp = json.loads((DATA / "balp/AuditEvent-ex-auditBasicReadNoPatient.json").read_text())
    balp["agent"][2] = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
                                             "code": "PAT"}]},
                        "who": {"reference": "Patient/ex-patient"}, "requestor": True}
    # the entity names another patient (a parent opening a child's record): the entity wins over the agent
    child = {**scope, "entity": [*scope["entity"], {"what": {"reference": "Patient/child-7"}}]}
    # Medplum's per-request AuditEvent, in the shape its server code writes it (agent = the logged-in profile,
    # entity = the resource without a role, search = subtype search with action R)
    medplum = {"resourceType": "AuditEvent", "recorded": "2025-11-10T18:02:11.412Z",
               "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest"},
               "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "search"}], "action": "R",
               "source": {"observer": {"identifier": {"value": "https://api.example.org/"}}},
               "agent": [{"who": {"reference": "Patient/0195f8c2"}, "requestor": True,
                          "network": {"address": "203.0.113.9", "type": "2"}}],
               "outcome": "0", "entity": [{"query": "Observation?code=8867-4"}]}
    # the same search with the agent written as an absolute reference, version-specific: the same account
    absolute = json.loads(json.dumps(medplum))
    absolute["agent"][0]["who"]["reference"] = "https://api.example.org/fhir/R4/Patient/0195f8c2/_history/3"
    return {
        "an absolute agent reference is the same account": (absolute, "Patient/0195f8c2", "search", "success",
                                                             ("0195f8c2",), AGENT),
        "icanbwell patient scope (server-written)": (scope, f"Patient/{PERSON}", "view", "unknown", (PERSON,), AGENT),
        "icanbwell delegated actor (server-written)": (delegated, "RelatedPerson/8d5fcbff-3707-405c-b0b2-3053a3adc013",
                                                       "view", "unknown", (PERSON,), AGENT),
        "the same access in R5's shape": (r5, f"Patient/{PERSON}", "view", "success", (PERSON,), AGENT),
        "BALP read, the user is the patient": (balp, "Patient/ex-patient", "view", "success", XP, AGENT),
        "an entity names another patient": (child, f"Patient/{PERSON}", "view", "unknown", ("child-7",),
                                            "fhir:Patient reference"),
        "medplum's shape, a patient's search": (medplum, "Patient/0195f8c2", "search", "success", ("0195f8c2",),
                                                AGENT),
    }


@pytest.mark.parametrize("name", sorted(_server_cases()))
def test_a_patient_acting_for_themselves(tmp_path, name):
    doc, account, action, outcome, patients, link = _server_cases()[name]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "audit.ndjson").write_text(json.dumps(doc) + "\n")
    with fhir_case(tmp_path, []) as case:
        case.ingest(progress=False)
        ev = case.sql("SELECT * FROM events ORDER BY patient_id")
        q = case.sql("SELECT * FROM quarantine")
    assert q.height == 0, q.to_dicts()
    assert ev.select("account_id", "action", "outcome", "patient_link").unique().rows() == [
        (account, action, outcome, link)]
    assert tuple(ev["patient_id"]) == patients


def test_a_delegate_s_consent_is_not_a_session(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "audit.ndjson").write_text(json.dumps(_server_record("icanbwell-delegated-actor.json")) + "\n")
    with fhir_case(tmp_path, []) as case:
        case.ingest(progress=False)
        ev = case.sql("SELECT account_id, session_id FROM events")
    assert ev.rows() == [("RelatedPerson/8d5fcbff-3707-405c-b0b2-3053a3adc013", None)]
