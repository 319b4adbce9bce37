-- question: which session and which segment does each event belong to? A session is the log's own session id
--           where it has one, else a run of events of one account from one address and one client with no gap of
--           gap_minutes or more; a segment is the part of a session from one address and one client.
-- params: gap_minutes
-- reads: session_input (the events a stage examines; written by scope_account_events or discover_session_input)
-- writes: sessioned_events
-- order: account_id, ts, event_key, patient_id
-- assumptions: the one definition of a session and a segment used by both discover and scope (DESIGN.md). A
--   session whose requests come from two addresses or clients (a replayed session cookie) has one segment per
--   address and client, whatever the order of its requests; a derived session is always a single segment.
--   session_ip and session_client are the address and client of the session's first event (its start).
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
keyed AS (
  SELECT * EXCLUDE (prev_ts, run_no),
    CASE WHEN session_id IS NOT NULL THEN 'log:' || session_id
         ELSE 'derived:' || left(sha256(concat_ws('|', account_id, coalesce(src_ip, '-'),
                coalesce(user_agent, '-'),
                CAST(min(ts) OVER (PARTITION BY account_id, src_ip, user_agent, run_no) AS VARCHAR))), 16)
    END AS session_key
  FROM runs
),
final AS (
  SELECT *,
    session_key || '/' || left(sha256(concat_ws('|', coalesce(src_ip, '-'), coalesce(user_agent, '-'))), 8)
      AS segment_key,
    first_value(src_ip) OVER w AS session_ip,
    first_value(user_agent) OVER w AS session_client
  FROM keyed
  WINDOW w AS (PARTITION BY account_id, session_key ORDER BY ts, event_key, patient_id NULLS FIRST
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT * FROM final ORDER BY account_id, ts, event_key, patient_id NULLS FIRST;
