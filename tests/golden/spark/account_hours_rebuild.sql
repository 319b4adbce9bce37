-- Spark text of scoping/sql/account_hours_rebuild.sql (sqlglot 30.30.0, rewrites v2)
SELECT
  account_id,
  DATE_TRUNC('HOUR', ts) AS hour,
  src_ip,
  user_agent,
  COUNT(*) AS event_rows,
  COUNT(patient_id) AS accesses,
  COUNT(patient_id) FILTER(WHERE
    action IN ('export', 'download', 'print')) AS copies,
  source_id,
  COUNT(*) FILTER(WHERE
    outcome = 'failure') AS refused
FROM events
GROUP BY ALL
