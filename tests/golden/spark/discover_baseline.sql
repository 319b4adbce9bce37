-- Spark text of scoping/sql/discover_baseline.sql (sqlglot 30.30.0, rewrites v2)
SELECT
  account_id,
  src_ip,
  user_agent,
  CAST(SUM(event_rows - refused) AS BIGINT) AS event_rows
FROM account_hours
WHERE
  hour >= CAST(:baseline_start AS TIMESTAMP)
  AND hour < CAST(:period_start AS TIMESTAMP)
GROUP BY ALL
HAVING
  SUM(event_rows - refused) > 0
