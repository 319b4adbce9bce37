-- question: for OpenEMR log rows that an api_log row belongs to, what address did the call come from and
--           which patient did the API name explicitly?
-- params: api_log_path, key_prefix, file_seq
-- reads: ingest_pending, the api_log export (CSV with OpenEMR's column names)
-- writes: ingest_pending (the rows of one OpenEMR log file)
-- order: not applicable (an update)
-- assumptions: api_log.patient_id 0 means none; an explicit API patient replaces the session's chart; the
--   address is stored normalised (ip_normal), as logged in src_ip_raw.
UPDATE ingest_pending AS m
SET src_ip = coalesce(ip_normal(a.ip_address), m.src_ip),
    src_ip_raw = coalesce(a.ip_address, m.src_ip_raw),
    patients = CASE WHEN a.patient_id IS NOT NULL THEN [a.patient_id] ELSE m.patients END,
    patient_link = CASE WHEN a.patient_id IS NOT NULL THEN 'openemr:explicit_column (api_log)' ELSE m.patient_link END,
    resource_type = coalesce(m.resource_type, a.method),
    resource_id = coalesce(m.resource_id, a.request_url)
FROM (
  SELECT log_id, nullif(ip_address, '') AS ip_address, nullif(nullif(trim(patient_id), '0'), '') AS patient_id,
         method, request_url
  FROM read_csv($api_log_path, all_varchar = true, header = true, auto_detect = true)
) AS a
WHERE m.file_seq = $file_seq AND m.problem IS NULL AND m.event_key = $key_prefix || a.log_id
