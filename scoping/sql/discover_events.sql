-- question: every event of every account from the start of the baseline to the end of the examined
--           period, and, for events of the period, whether the patient is the account's own (registered
--           with its practice, or with a care relationship with the account or its practice begun by then).
-- params: baseline_start, period_start, period_end
-- reads: events, accounts, patients, care
-- writes: discover_events
-- order: ts (the events table's order)
-- assumptions: the baseline is [baseline_start, period_start), the period [period_start, period_end).
CREATE OR REPLACE TEMP TABLE discover_events AS
WITH ev AS (
  SELECT e.*, e.ts >= CAST($period_start AS TIMESTAMPTZ) AS in_period, a.practice_id AS account_practice
  FROM events e
  LEFT JOIN accounts a USING (account_id)
  WHERE e.ts >= CAST($baseline_start AS TIMESTAMPTZ) AND e.ts < CAST($period_end AS TIMESTAMPTZ)
),
final AS (
  SELECT * EXCLUDE (account_practice),
    CASE WHEN NOT in_period OR patient_id IS NULL THEN NULL
         ELSE EXISTS (SELECT 1 FROM patients p
                      WHERE p.patient_id = ev.patient_id AND p.practice_id = ev.account_practice)
           OR EXISTS (SELECT 1 FROM care c
                      WHERE c.patient_id = ev.patient_id
                        AND (c.account_id = ev.account_id OR c.practice_id = ev.account_practice)
                        AND (c.start_ts IS NULL OR c.start_ts <= ev.ts))
    END AS own_patient
  FROM ev
)
SELECT * FROM final;
