-- question: every event of the examined period, with whether the patient is the account's own (registered
--           with its practice, or with a care relationship with the account or its practice begun by then)
-- params: period_start, period_end
-- reads: events, accounts, patients, care
-- writes: discover_events
-- order: ts (the events table's order)
-- assumptions: the period [period_start, period_end) starts on a whole hour (discover.py rounds it); only the
--   period's events are read (the baseline is discover_baseline.sql's, from account_hours). Spark runs this file
--   too (engine = "spark"): it keeps to the portable subset of scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE discover_events AS
WITH own_by_practice AS (
  -- since when each patient is a practice's own: registered (always) or cared for (from the first contact)
  SELECT practice_id, patient_id, min(since) AS since FROM (
    SELECT practice_id, patient_id, TIMESTAMPTZ '1900-01-01 00:00:00+00' AS since FROM patients
    UNION ALL
    SELECT practice_id, patient_id, coalesce(start_ts, TIMESTAMPTZ '1900-01-01 00:00:00+00') FROM care
    WHERE practice_id IS NOT NULL)
  GROUP BY practice_id, patient_id
),
own_by_account AS (
  SELECT account_id, patient_id, min(coalesce(start_ts, TIMESTAMPTZ '1900-01-01 00:00:00+00')) AS since
  FROM care WHERE account_id IS NOT NULL
  GROUP BY account_id, patient_id
),
ev AS (
  -- only the columns discovery reads: at 1e8 events this table spills to disk, and every column counts
  SELECT e.event_key, e.ts, e.account_id, e.session_id, e.src_ip, e.user_agent, e.action, e.category,
    e.patient_id, e.outcome, e.ts >= CAST($period_start AS TIMESTAMPTZ) AS in_period,
    a.practice_id AS account_practice
  FROM events e
  LEFT JOIN accounts a USING (account_id)
  WHERE e.ts >= CAST($period_start AS TIMESTAMPTZ) AND e.ts < CAST($period_end AS TIMESTAMPTZ)
),
final AS (
  SELECT ev.* EXCLUDE (account_practice),
    CASE WHEN ev.patient_id IS NULL THEN NULL
         ELSE coalesce(p.since <= ev.ts, false) OR coalesce(c.since <= ev.ts, false) END AS own_patient
  FROM ev
  LEFT JOIN own_by_practice p ON p.practice_id = ev.account_practice AND p.patient_id = ev.patient_id
  LEFT JOIN own_by_account c ON c.account_id = ev.account_id AND c.patient_id = ev.patient_id
)
SELECT * FROM final;
