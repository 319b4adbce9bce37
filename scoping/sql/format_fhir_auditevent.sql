-- question: what did each FHIR AuditEvent (R4, R5 or R6 draft; BALP or not) record: when, which account,
--           from which address, which action, on which patient (and how the patient was found)?
-- params: tz
-- reads: staging_lines
-- order: source_line (ingest appends the rows to ingest_pending)
-- assumptions: time = period.start | occurredDateTime | occurredPeriod.start | recorded; account = the
--   requestor agent (who.identifier.value, who.reference, who.display, altId, name, else its OAuth/SAML
--   token as policy:<id>), else a human-user agent, else the client (DCM 110153/110150); a who.reference is
--   read as Type/id, whether written relative or absolute (https://server/fhir/Patient/A2 is Patient/A2) and
--   with or without /_history/<version>, so that one account is one id; session = the
--   requestor's first policy (BALP: the token id), unless it is a Consent reference (the consent a
--   delegate acts under, not a session). Patient, first rule that finds one (patient_link): the R5/R6
--   `patient` element; entities with object-role 1 (Patient, by reference or identifier); any entity
--   `what` = Patient/<id> (legacy examples); a patient= or subject= parameter of the base64 query entity
--   (role 24); else an agent who is a Patient (`agent_patient`): the Patient agents that are not the
--   requestor when there are any (someone acting for a patient: a delegate, a parent, records that
--   patient as a second agent), else the requestor when it is a Patient (a patient-facing app: the
--   patient reading their own record). The entities come first because they name the record that was
--   read or asked for, the agent only who asked: a patient may open another person's record (a child's,
--   a delegator's), and that record's patient is the one to tell. Action: the DICOM/BALP codes, except
--   that DCM 110112 Query is a search only with action E (or none) or a query entity; a server that
--   writes 110112 with C, R, U or D on a plain resource (icanbwell's fhir-server does, for every access)
--   is read by that letter. Client and server records of one call share an X-Request-Id entity: it is
--   the event key, so the second record counts as a duplicate when it is the same record, a conflict (kept)
--   when it says otherwise. The content compared is the record minified (an NDJSON line, or a Bundle entry),
--   so the same resource read from a Bundle and from NDJSON is the same record.
WITH decoded AS (
  SELECT source_line, raw,
    CASE WHEN ends_with(t, chr(13)) THEN t[:-2] ELSE t END AS txt
  FROM (SELECT source_line, raw, try(decode(raw)) AS t FROM staging_lines)
),
valid AS (
  -- j is the record only when it parses: JSON functions never see a malformed line
  SELECT *, CASE WHEN txt IS NOT NULL AND json_valid(txt) THEN txt END AS j FROM decoded
),
checked AS (
  SELECT *,
    CASE WHEN txt IS NULL THEN 'invalid UTF-8'
         WHEN trim(txt) = '' THEN 'empty line'
         WHEN j IS NULL THEN 'unparseable JSON record'
         WHEN json_type(j) <> 'OBJECT' THEN 'JSON record is not an object'
         WHEN coalesce(json_extract_string(j, '$.resourceType'), '') <> 'AuditEvent'
           THEN 'not an AuditEvent (resourceType ' || coalesce(json_extract_string(j, '$.resourceType'), 'missing')
                || ')'
    END AS problem
  FROM valid
),
parts AS (
  SELECT source_line, raw, txt, problem, CASE WHEN problem IS NULL THEN CAST(json(j) AS VARCHAR) END AS content,
    CASE WHEN problem IS NULL THEN CAST(coalesce(json_extract(j, '$.agent'), '[]') AS JSON[]) END AS agents,
    CASE WHEN problem IS NULL THEN CAST(coalesce(json_extract(j, '$.entity'), '[]') AS JSON[]) END AS entities,
    CASE WHEN problem IS NULL THEN list_concat(
      [json_extract_string(j, '$.type.code')],
      coalesce(json_extract_string(j, '$.subtype[*].code'), []),
      coalesce(json_extract_string(j, '$.category[*].coding[*].code'), []),
      coalesce(json_extract_string(j, '$.code.coding[*].code'), [])) END AS codes,
    json_extract_string(j, '$.action') AS act,
    coalesce(json_extract_string(j, '$.period.start'), json_extract_string(j, '$.occurredDateTime'),
             json_extract_string(j, '$.occurredPeriod.start'), json_extract_string(j, '$.recorded')) AS ts_text,
    CASE WHEN json_type(j, '$.outcome') = 'VARCHAR' THEN json_extract_string(j, '$.outcome')
         ELSE json_extract_string(j, '$.outcome.code.code') END AS outcome_code,
    json_extract_string(j, '$.patient.reference') AS patient_element,
    json_extract_string(j, '$.id') AS resource_id_of_event
  FROM checked
),
agents AS (
  SELECT *,
    list_filter(agents, lambda a: json_extract_string(a, '$.requestor') = 'true')[1] AS requestor,
    list_filter(agents, lambda a: list_has_any(coalesce(json_extract_string(a, '$.type.coding[*].code'), []),
      ['humanuser', 'IRCP', 'UserOauthAgent', 'UserSamlAgent']))[1] AS human,
    list_filter(agents, lambda a: list_has_any(coalesce(json_extract_string(a, '$.type.coding[*].code'), []),
      ['110153', '110150']))[1] AS client
  FROM parts
),
who AS (
  SELECT *,
    coalesce(
      json_extract_string(requestor, '$.who.identifier.value'), regexp_replace(json_extract_string(requestor, '$.who.reference'), '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^?#]*/)?([A-Z][A-Za-z]+/[A-Za-z0-9.-]{1,64})(?:/_history/[^/?#]*)?$', '\1'),
      json_extract_string(requestor, '$.who.display'), json_extract_string(requestor, '$.altId'),
      json_extract_string(requestor, '$.name'), 'policy:' || json_extract_string(requestor, '$.policy[0]'),
      json_extract_string(human, '$.who.identifier.value'), regexp_replace(json_extract_string(human, '$.who.reference'), '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^?#]*/)?([A-Z][A-Za-z]+/[A-Za-z0-9.-]{1,64})(?:/_history/[^/?#]*)?$', '\1'),
      json_extract_string(human, '$.who.display'),
      json_extract_string(client, '$.who.identifier.value'), regexp_replace(json_extract_string(client, '$.who.reference'), '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^?#]*/)?([A-Z][A-Za-z]+/[A-Za-z0-9.-]{1,64})(?:/_history/[^/?#]*)?$', '\1'),
      json_extract_string(client, '$.who.display'),
      json_extract_string(agents[1], '$.who.identifier.value'), regexp_replace(json_extract_string(agents[1], '$.who.reference'), '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^?#]*/)?([A-Z][A-Za-z]+/[A-Za-z0-9.-]{1,64})(?:/_history/[^/?#]*)?$', '\1'),
      json_extract_string(agents[1], '$.who.display')) AS account_id,
    CASE WHEN NOT regexp_matches(coalesce(json_extract_string(requestor, '$.policy[0]'), ''), '(?:^|/)Consent/')
         THEN json_extract_string(requestor, '$.policy[0]') END AS session_id,
    coalesce(
      json_extract_string(list_filter(agents, lambda a: json_extract_string(a, '$.network.type') = '2')[1],
                          '$.network.address'),
      regexp_replace(list_filter(agents, lambda a: regexp_matches(coalesce(json_extract_string(a, '$.networkUri'), ''),
                     '^urn:ipv[46]:'))[1] ->> '$.networkUri', '^urn:ipv[46]:', ''),
      json_extract_string(requestor, '$.network.address'), json_extract_string(requestor, '$.networkString'),
      json_extract_string(client, '$.network.address'), json_extract_string(client, '$.networkString')) AS src_ip
  FROM agents
),
patients AS (
  SELECT *,
    list_filter(list_transform(
      list_filter(entities, lambda e: coalesce(json_extract_string(e, '$.role.code'), '') = '1'
                  OR list_contains(coalesce(json_extract_string(e, '$.role.coding[*].code'), []), '1')),
      lambda e: coalesce(nullif(regexp_extract(coalesce(json_extract_string(e, '$.what.reference'), ''),
                                                '(?:^|/)Patient/([^/]+)', 1), ''),
                         json_extract_string(e, '$.what.identifier.value'))),
      lambda p: p IS NOT NULL) AS role_patients,
    list_filter(list_transform(entities, lambda e: nullif(regexp_extract(
      coalesce(json_extract_string(e, '$.what.reference'), ''), '(?:^|/)Patient/([^/]+)', 1), '')),
      lambda p: p IS NOT NULL) AS referenced_patients,
    list_filter(list_transform(
      list_filter(agents, lambda a: coalesce(json_extract_string(a, '$.requestor'), '') <> 'true'),
      lambda a: coalesce(nullif(regexp_extract(coalesce(json_extract_string(a, '$.who.reference'), ''),
                                               '(?:^|/)Patient/([^/]+)', 1), ''),
                         CASE WHEN json_extract_string(a, '$.who.type') = 'Patient'
                              THEN json_extract_string(a, '$.who.identifier.value') END)),
      lambda p: p IS NOT NULL) AS acted_for_patients,
    list_filter(list_transform(
      list_filter(agents, lambda a: json_extract_string(a, '$.requestor') = 'true'),
      lambda a: coalesce(nullif(regexp_extract(coalesce(json_extract_string(a, '$.who.reference'), ''),
                                               '(?:^|/)Patient/([^/]+)', 1), ''),
                         CASE WHEN json_extract_string(a, '$.who.type') = 'Patient'
                              THEN json_extract_string(a, '$.who.identifier.value') END)),
      lambda p: p IS NOT NULL) AS requesting_patients,
    list_filter(list_transform(
      list_filter(entities, lambda e: coalesce(json_extract_string(e, '$.role.code'), '') = '24'
                  OR list_contains(coalesce(json_extract_string(e, '$.role.coding[*].code'), []), '24')),
      lambda e: nullif(regexp_extract(coalesce(try(decode(from_base64(json_extract_string(e, '$.query')))), ''),
                                      '[?&](?:patient|subject)=(?:Patient/)?([^&# ]+)', 1), '')),
      lambda p: p IS NOT NULL) AS query_patients,
    len(list_filter(entities, lambda e: coalesce(json_extract_string(e, '$.role.code'), '') = '24'
                    OR list_contains(coalesce(json_extract_string(e, '$.role.coding[*].code'), []), '24'))) > 0
      AS has_query,
    list_filter(entities, lambda e: json_extract_string(e, '$.type.code') = 'XrequestId')[1]
      ->> '$.what.identifier.value' AS request_id,
    list_filter(list_transform(entities, lambda e: json_extract_string(e, '$.what.reference')),
      lambda r: r IS NOT NULL AND NOT starts_with(r, '#') AND NOT regexp_matches(r, '(?:^|/)Patient/'))[1]
      AS data_reference
  FROM who
),
classified AS (
  SELECT *,
    CASE WHEN outcome_code = '0' THEN 'success'
         WHEN outcome_code IN ('4', '8', '12', 'error', 'fatal') THEN 'failure'
         ELSE 'unknown' END AS outcome,
    CASE
      WHEN list_contains(codes, '110123') THEN 'logout'
      WHEN list_contains(codes, '110122') OR list_contains(codes, '110114')
        THEN CASE WHEN outcome_code IN ('4', '8', '12', 'error', 'fatal') THEN 'login_failed' ELSE 'login' END
      WHEN list_contains(codes, '110106') THEN 'export'
      WHEN list_contains(codes, '110112') AND (coalesce(act, 'E') = 'E' OR has_query) THEN 'search'
      WHEN list_has_any(codes, ['search', 'search-type', 'search-system',
           'history', 'history-instance', 'history-type', 'history-system']) THEN 'search'
      WHEN list_has_any(codes, ['read', 'vread']) THEN 'view'
      WHEN list_contains(codes, 'create') THEN 'create'
      WHEN list_has_any(codes, ['update', 'patch']) THEN 'update'
      WHEN list_contains(codes, 'delete') THEN 'delete'
      WHEN act = 'C' THEN 'create' WHEN act = 'R' THEN 'view' WHEN act = 'U' THEN 'update'
      WHEN act = 'D' THEN 'delete' WHEN act = 'E' AND has_query THEN 'search'
      ELSE 'other' END AS action,
    CASE WHEN patient_element IS NOT NULL
           THEN [regexp_extract(patient_element, '(?:^|/)Patient/([^/]+)', 1)]
         WHEN len(role_patients) > 0 THEN list_distinct(role_patients)
         WHEN len(referenced_patients) > 0 THEN list_distinct(referenced_patients)
         WHEN len(query_patients) > 0 THEN list_distinct(query_patients)
         WHEN len(acted_for_patients) > 0 THEN list_distinct(acted_for_patients)
         WHEN len(requesting_patients) > 0 THEN list_distinct(requesting_patients)
         ELSE [NULL::VARCHAR] END AS patients,
    CASE WHEN patient_element IS NOT NULL THEN 'fhir:patient element'
         WHEN len(role_patients) > 0 THEN 'fhir:patient-role entity'
         WHEN len(referenced_patients) > 0 THEN 'fhir:Patient reference'
         WHEN len(query_patients) > 0 THEN 'fhir:query parameter'
         WHEN len(acted_for_patients) > 0 OR len(requesting_patients) > 0 THEN 'agent_patient'
    END AS patient_link,
    split_part(data_reference, '/', 1) AS resource_type,
    nullif(split_part(data_reference, '/', 2), '') AS resource_id
  FROM patients
),
final AS (
  SELECT source_line, CASE WHEN problem IS NOT NULL THEN raw END AS raw, txt,
    coalesce(problem,
      CASE WHEN ts_text IS NULL THEN 'missing timestamp'
           WHEN NOT regexp_matches(ts_text, '(Z|[+-][0-9]{2}:[0-9]{2})$') AND $tz IS NULL
             THEN 'timestamp without offset'
           WHEN (CASE WHEN regexp_matches(ts_text, '(Z|[+-][0-9]{2}:[0-9]{2})$')
                      THEN try_cast(ts_text AS TIMESTAMPTZ)
                      ELSE timezone($tz, try_cast(ts_text AS TIMESTAMP)) END) IS NULL
             THEN 'bad timestamp: ' || left(ts_text, 64)
           WHEN account_id IS NULL THEN 'missing account'
      END) AS problem,
    CASE WHEN problem IS NULL THEN CAST('0x' || left(sha256(content), 16) AS UBIGINT) END AS content_digest,
    NULL::VARCHAR AS record_flags,
    CASE WHEN request_id IS NOT NULL THEN 'xrequest:' || request_id
         WHEN resource_id_of_event IS NOT NULL THEN 'fhir:' || resource_id_of_event
         ELSE 'sha256:' || left(sha256(coalesce(content, txt)), 32) END AS event_key,
    CASE WHEN regexp_matches(ts_text, '(Z|[+-][0-9]{2}:[0-9]{2})$') THEN try_cast(ts_text AS TIMESTAMPTZ)
         ELSE timezone($tz, try_cast(ts_text AS TIMESTAMP)) END AS ts,
    ts_text AS ts_raw,
    NULL::VARCHAR AS ts_flag,
    account_id, session_id, src_ip, NULL::VARCHAR AS user_agent, action,
    concat_ws(' ', 'codes=' || array_to_string(list_filter(codes, lambda c: c IS NOT NULL), ','), 'action=' || act)
      AS action_raw,
    CASE WHEN action IN ('login', 'login_failed', 'logout') THEN 'administrative'
         WHEN action = 'search' THEN 'patient_list'
         WHEN resource_type IN ('List', 'Group') THEN 'patient_list'
         WHEN resource_type IN ('Observation', 'DiagnosticReport', 'Specimen') THEN 'lab_result'
         WHEN resource_type IN ('ImagingStudy', 'Media') THEN 'imaging'
         WHEN resource_type IN ('Condition') THEN 'diagnosis'
         WHEN resource_type IN ('MedicationRequest', 'MedicationStatement', 'MedicationDispense',
                                'MedicationAdministration') THEN 'prescription'
         WHEN resource_type = 'AllergyIntolerance' THEN 'allergy'
         WHEN resource_type IN ('DocumentReference', 'DocumentManifest', 'Binary', 'Composition') THEN 'document'
         WHEN resource_type IN ('Encounter', 'Appointment', 'Schedule') THEN 'appointment'
         WHEN resource_type IN ('Coverage', 'Claim', 'ExplanationOfBenefit', 'Account') THEN 'insurance_billing'
         WHEN resource_type IN ('Communication', 'CommunicationRequest') THEN 'messaging'
         WHEN resource_type IN ('Consent', 'Organization', 'Practitioner', 'PractitionerRole', 'Device')
           THEN 'administrative'
         WHEN resource_type = 'Bundle' THEN 'full_record'
         WHEN resource_type IS NULL AND patient_link IS NOT NULL THEN 'demographics'
         WHEN resource_type IS NULL THEN 'unknown'
         ELSE 'other' END AS category,
    patients, patient_link, outcome,
    CASE WHEN resource_type IS NULL AND patient_link IS NOT NULL THEN 'Patient' ELSE resource_type END
      AS resource_type,
    coalesce(resource_id, CASE WHEN resource_type IS NULL THEN patients[1] END) AS resource_id
  FROM classified
)
SELECT * FROM final ORDER BY source_line
