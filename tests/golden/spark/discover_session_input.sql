-- Spark text of scoping/sql/discover_session_input.sql (sqlglot 30.30.0, rewrites v2)
WITH flagged AS (
  SELECT
    account_id
  FROM (
    SELECT
      *
    FROM discover_signals
    UNION ALL
    SELECT
      *
    FROM discover_pivot
  )
  GROUP BY
    account_id
  HAVING
    SUM(points) >= CAST(:threshold AS BIGINT)
)
SELECT
  *
  EXCEPT (in_period)
FROM discover_events
WHERE
  in_period AND account_id IN (
    SELECT
      account_id
    FROM flagged
  )
