-- question: the examined period's events Spark scanned (discover_events), typed as DuckDB types them
-- params: none
-- reads: spark_rows (the Arrow rows Spark returned, read by a replacement scan)
-- writes: discover_events
-- order: ts, event_key, patient_id (the lake's order)
-- assumptions: the columns of discover_events.sql's final, in its order.
CREATE OR REPLACE TEMP TABLE discover_events AS
SELECT event_key, ts, account_id, session_id, src_ip, user_agent, action, category, patient_id, outcome,
  CAST(in_period AS BOOLEAN) AS in_period, CAST(own_patient AS BOOLEAN) AS own_patient
FROM spark_rows
ORDER BY ts, event_key, patient_id NULLS FIRST;
