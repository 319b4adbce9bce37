-- question: what did each compromised account do from the start of its baseline to the end of the
--           last window, grouped into sessions?
-- params: baseline_start, scope_end, gap_minutes
-- reads: events, incident_accounts
-- writes: scope_account_events
-- order: account_id, ts, event_key, patient_id
-- assumptions: a session is the log's own session id when it has one; otherwise a run of events of one
--              account from one address and client with no gap of gap_minutes or more.
CREATE OR REPLACE TABLE scope_account_events AS
WITH ev AS (
  SELECT * FROM events
  WHERE ts >= CAST($baseline_start AS TIMESTAMPTZ) AND ts < CAST($scope_end AS TIMESTAMPTZ)
    AND account_id IN (SELECT account_id FROM incident_accounts)
),
gaps AS (
  SELECT *,
    lag(ts) OVER (PARTITION BY account_id, src_ip, user_agent ORDER BY ts, event_key) AS prev_ts
  FROM ev
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
