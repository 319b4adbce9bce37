-- question: every event of the examined period, with whether the patient is the account's own (registered
--           with its practice, or with a care relationship with the account or its practice begun by then);
--           and each account's baseline (addresses, clients, hourly habits) read from account_hours.
-- params: baseline_start, period_start, period_end
-- reads: events, account_hours, accounts, patients, care
-- writes: discover_events, discover_baseline, discover_habits
-- order: ts (the events table's order)
-- assumptions: the baseline is [baseline_start, period_start), the period [period_start, period_end), both
--   starting on whole hours (discover.py rounds them), so the baseline is whole hours of account_hours and
--   only the period's events are read. The baseline's patients per hour are its accesses per hour (an
--   upper bound of the distinct patients: a volume signal needs more, never less, than before). Refused requests
--   are no habit: the baseline's addresses and clients are those of requests not refused.
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

CREATE OR REPLACE TEMP TABLE discover_baseline AS
SELECT account_id, src_ip, user_agent, sum(event_rows - refused) AS event_rows
FROM account_hours
WHERE hour >= CAST($baseline_start AS TIMESTAMPTZ) AND hour < CAST($period_start AS TIMESTAMPTZ)
GROUP BY ALL
HAVING sum(event_rows - refused) > 0;

CREATE OR REPLACE TEMP TABLE discover_habits AS
WITH hourly AS (
  SELECT account_id, hour, sum(accesses) AS patients, sum(copies) AS copies
  FROM account_hours
  WHERE hour >= CAST($baseline_start AS TIMESTAMPTZ) AND hour < CAST($period_start AS TIMESTAMPTZ)
    AND accesses > 0
  GROUP BY account_id, hour
)
SELECT account_id, median(patients) AS med_patients, max(patients) AS max_patients, max(copies) AS max_copies
FROM hourly GROUP BY account_id;
