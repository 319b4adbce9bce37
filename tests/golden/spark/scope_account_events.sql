-- Spark text of scoping/sql/scope_account_events.sql (sqlglot 30.30.0, rewrites v2)
SELECT
  *
FROM events
WHERE
  ts >= CAST(:read_start AS TIMESTAMP)
  AND ts < CAST(:scope_end AS TIMESTAMP)
  AND account_id IN (
    SELECT
      account_id
    FROM scope_accounts
  )
