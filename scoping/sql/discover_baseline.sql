-- question: each account's baseline before the examined period, read from account_hours: its addresses and
--           clients, and its hourly habits (patients and copies per hour)
-- params: baseline_start, period_start
-- reads: account_hours
-- writes: discover_baseline, discover_habits
-- order: none (tables read by account)
-- assumptions: the baseline is [baseline_start, period_start), whole hours of account_hours. The baseline's patients
--   per hour are its accesses per hour (an upper bound of the distinct patients: a volume signal needs more, never
--   less, than before). Refused requests are no habit: the baseline's addresses and clients are those of requests
--   not refused.
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
