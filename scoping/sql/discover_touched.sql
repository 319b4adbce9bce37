-- question: how many patients did each account with a signal touch in the examined period, in requests not
--           refused, and how many of them were not its own?
-- params: none
-- reads: discover_events, discover_signals, discover_pivot
-- writes: discover_touched
-- order: account_id
-- assumptions: Spark runs this file too (engine = "spark", over the period's events it keeps; one row per account
--   comes back): it keeps to the portable subset of scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE discover_touched AS
WITH scored AS (SELECT account_id FROM discover_signals UNION SELECT account_id FROM discover_pivot),
final AS (
  SELECT e.account_id, count(DISTINCT e.patient_id) AS patients_touched,
    count(DISTINCT e.patient_id) FILTER (WHERE NOT e.own_patient) AS patients_not_own
  FROM discover_events e
  WHERE e.in_period AND e.patient_id IS NOT NULL AND e.outcome <> 'failure'
    AND e.account_id IN (SELECT account_id FROM scored)
  GROUP BY e.account_id
)
SELECT * FROM final ORDER BY account_id;
