-- question: every event of every account from the start of the baseline to the end of the examined
--           period, with its session and whether the patient is the account's own (registered with its
--           practice, or with a care relationship with the account or its practice).
-- params: baseline_start, period_start, period_end, gap_minutes
-- reads: events, accounts, patients, care
-- writes: discover_events
-- order: account_id, ts, event_key, patient_id
-- assumptions: the baseline is [baseline_start, period_start), the period [period_start, period_end).
CREATE OR REPLACE TABLE discover_events AS
WITH ev AS (
  SELECT e.*, e.ts >= CAST($period_start AS TIMESTAMPTZ) AS in_period
  FROM events e
  WHERE e.ts >= CAST($baseline_start AS TIMESTAMPTZ) AND e.ts < CAST($period_end AS TIMESTAMPTZ)
),
own AS (
  SELECT ev.event_key, ev.patient_id,
    bool_or(p.patient_id IS NOT NULL OR c.patient_id IS NOT NULL) AS own_patient
  FROM ev
  JOIN accounts a USING (account_id)
  LEFT JOIN patients p ON p.patient_id = ev.patient_id AND p.practice_id = a.practice_id
  LEFT JOIN care c ON c.patient_id = ev.patient_id
                  AND (c.account_id = ev.account_id OR c.practice_id = a.practice_id)
                  AND (c.start_ts IS NULL OR c.start_ts <= ev.ts)
  WHERE ev.patient_id IS NOT NULL
  GROUP BY ev.event_key, ev.patient_id
),
gaps AS (
  SELECT ev.*, o.own_patient,
    lag(ev.ts) OVER (PARTITION BY ev.account_id, ev.src_ip, ev.user_agent ORDER BY ev.ts, ev.event_key) AS prev_ts
  FROM ev LEFT JOIN own o ON o.event_key = ev.event_key AND o.patient_id = ev.patient_id
),
runs AS (
  SELECT *,
    sum(CASE WHEN prev_ts IS NULL OR ts - prev_ts >= to_minutes(CAST($gap_minutes AS BIGINT)) THEN 1 ELSE 0 END)
      OVER (PARTITION BY account_id, src_ip, user_agent ORDER BY ts, event_key
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_no
  FROM gaps
),
final AS (
  SELECT * EXCLUDE (prev_ts, run_no),
    CASE WHEN session_id IS NOT NULL THEN 'log:' || session_id
         ELSE 'derived:' || left(sha256(concat_ws('|', account_id, coalesce(src_ip, '-'),
                coalesce(user_agent, '-'),
                CAST(min(ts) OVER (PARTITION BY account_id, src_ip, user_agent, run_no) AS VARCHAR))), 16)
    END AS session_key
  FROM runs
)
SELECT * FROM final ORDER BY account_id, ts, event_key, patient_id NULLS FIRST;
