-- question: which session does each event belong to? The log's own session id where it has one, else a run
--           of events of one account from one address and one client with no gap of gap_minutes or more.
-- params: gap_minutes
-- reads: session_input (the events a stage examines; written by scope_account_events or discover_sessions)
-- writes: sessioned_events
-- order: account_id, ts, event_key, patient_id
-- assumptions: the one definition of a session used by both discover and scope (DESIGN.md, "session").
CREATE OR REPLACE TEMP TABLE sessioned_events AS
WITH gaps AS (
  SELECT *,
    lag(ts) OVER (PARTITION BY account_id, src_ip, user_agent ORDER BY ts, event_key) AS prev_ts
  FROM session_input
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
