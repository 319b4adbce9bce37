-- question: the period's events of the accounts with a signal, which Spark selected (discover_session_input), typed
--           as DuckDB types them
-- params: none
-- reads: spark_rows (the Arrow rows Spark returned, read by a replacement scan)
-- writes: session_input
-- order: ts, event_key, patient_id (the lake's order)
-- assumptions: the columns of discover_session_input.sql: discover_events.sql's final without in_period, in its
--   order.
CREATE OR REPLACE TEMP TABLE session_input AS
SELECT event_key, CAST(ts AS TIMESTAMPTZ) AS ts, account_id, session_id, src_ip, user_agent, action, category,
  patient_id, outcome, CAST(own_patient AS BOOLEAN) AS own_patient
FROM spark_rows
ORDER BY ts, event_key, patient_id NULLS FIRST;
