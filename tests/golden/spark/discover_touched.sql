-- Spark text of scoping/sql/discover_touched.sql (sqlglot 30.30.0, rewrites v2)
WITH scored AS (
  SELECT
    account_id
  FROM discover_signals
  UNION
  SELECT
    account_id
  FROM discover_pivot
), final AS (
  SELECT
    e.account_id,
    COUNT(DISTINCT e.patient_id) AS patients_touched,
    COUNT(DISTINCT e.patient_id) FILTER(WHERE
      NOT e.own_patient) AS patients_not_own
  FROM discover_events AS e
  WHERE
    e.in_period
    AND NOT e.patient_id IS NULL
    AND e.outcome <> 'failure'
    AND e.account_id IN (
      SELECT
        account_id
      FROM scored
    )
  GROUP BY
    e.account_id
)
SELECT
  *
FROM final
ORDER BY
  account_id NULLS LAST
