-- question: each account's hourly habits before the examined period, read from account_hours: the median and the
--           most patients it touched in an hour, and the most copies (exports, downloads, prints) it made in one
-- params: baseline_start, period_start
-- reads: account_hours
-- writes: discover_habits
-- order: none (a table read by account)
-- assumptions: the baseline is [baseline_start, period_start), whole hours of account_hours. The baseline's patients
--   per hour are its accesses per hour (an upper bound of the distinct patients: a volume signal needs more, never
--   less, than before); only hours with an access count. Spark runs this file too (engine = "spark", as
--   discover_baseline.sql): it keeps to the portable subset of scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE discover_habits AS
WITH hourly AS (
  SELECT account_id, hour, CAST(sum(accesses) AS BIGINT) AS patients, CAST(sum(copies) AS BIGINT) AS copies
  FROM account_hours
  WHERE hour >= CAST($baseline_start AS TIMESTAMPTZ) AND hour < CAST($period_start AS TIMESTAMPTZ)
    AND accesses > 0
  GROUP BY account_id, hour
),
final AS (
  SELECT account_id, median(patients) AS med_patients, max(patients) AS max_patients, max(copies) AS max_copies
  FROM hourly GROUP BY account_id
)
SELECT * FROM final;
