-- question: the window's events Spark extracted (scope_account_events), typed as the events table types them
-- params: none
-- reads: spark_rows (the Arrow rows Spark returned, read by a replacement scan)
-- writes: session_input
-- order: ts, event_key, patient_id (the lake's order)
-- assumptions: the rows have the lake's columns (lake_write.sql); the content digest comes back as the store types
--   it (UBIGINT), exactly as lake_views.sql reads it.
CREATE OR REPLACE TEMP TABLE session_input AS
SELECT event_key, ts, ts_raw, ts_flag, account_id, session_id, src_ip, user_agent, action, action_raw, category,
  patient_id, patient_link, outcome, resource_type, resource_id, source_id, CAST(source_line AS BIGINT) AS source_line,
  src_ip_raw, record_flags, key_conflict, CAST('0x' || content_digest_hex AS UBIGINT) AS content_digest
FROM spark_rows
ORDER BY ts, event_key, patient_id NULLS FIRST;
