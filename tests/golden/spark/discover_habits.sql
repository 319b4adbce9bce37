-- Spark text of scoping/sql/discover_habits.sql (sqlglot 30.30.0, rewrites v2)
WITH hourly AS (
  SELECT
    account_id,
    hour,
    CAST(SUM(accesses) AS BIGINT) AS patients,
    CAST(SUM(copies) AS BIGINT) AS copies
  FROM account_hours
  WHERE
    hour >= CAST(:baseline_start AS TIMESTAMP)
    AND hour < CAST(:period_start AS TIMESTAMP)
    AND accesses > 0
  GROUP BY
    account_id,
    hour
), final AS (
  SELECT
    account_id,
    MEDIAN(patients) AS med_patients,
    MAX(patients) AS max_patients,
    MAX(copies) AS max_copies
  FROM hourly
  GROUP BY
    account_id
)
SELECT
  *
FROM final
