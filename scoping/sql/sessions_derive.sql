-- question: which session and which segment does each event belong to? A session is the log's own session id
--           (of one account) where it has one, else a run of events of one account from one address and one client
--           with no gap of gap_minutes or more; a segment is the part of a session from one address and one client.
-- params: gap_minutes
-- reads: session_input (the events a stage examines; written by scope_account_events or discover_session_input)
-- writes: sessioned_events
-- order: account_id, ts, event_key, patient_id
-- assumptions: the one definition of a session and a segment used by both discover and scope (DESIGN.md). A
--   session whose requests come from two addresses or clients (a replayed session cookie) has one segment per
--   address and client, whatever the order of its requests; a derived session is always a single segment. Inside a
--   log session, an event that logs no address (or no client) takes the one of the session's latest event before
--   it that has one, else of the first after it (a client logged at login only, an auth line without address):
--   seg_ip and seg_client are those values, and a missing value alone never makes a segment of its own. A derived
--   session does the same within the gap: an event without client joins the run of its address's latest client.
CREATE OR REPLACE TEMP TABLE sessioned_events AS
WITH near AS (
  -- for an event without session id that logs no client (or no address): the client of the account's latest
  -- event from the same address before it (or the address of its latest event with the same client)
  SELECT *,
    last_value(user_agent IGNORE NULLS) OVER by_address AS near_client,
    last_value(CASE WHEN user_agent IS NOT NULL THEN ts END IGNORE NULLS) OVER by_address AS near_client_ts,
    last_value(src_ip IGNORE NULLS) OVER by_client AS near_ip,
    last_value(CASE WHEN src_ip IS NOT NULL THEN ts END IGNORE NULLS) OVER by_client AS near_ip_ts
  FROM session_input
  WINDOW by_address AS (PARTITION BY account_id, src_ip ORDER BY ts, event_key
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
         by_client AS (PARTITION BY account_id, user_agent ORDER BY ts, event_key
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
derive_on AS (
  -- ... within the gap only: a client logged at login carries the session's requests that log none
  SELECT * EXCLUDE (near_client, near_client_ts, near_ip, near_ip_ts),
    CASE WHEN user_agent IS NULL AND src_ip IS NOT NULL AND session_id IS NULL
              AND ts - near_client_ts < to_minutes(CAST($gap_minutes AS BIGINT)) THEN near_client
         ELSE user_agent END AS d_client,
    CASE WHEN src_ip IS NULL AND user_agent IS NOT NULL AND session_id IS NULL
              AND ts - near_ip_ts < to_minutes(CAST($gap_minutes AS BIGINT)) THEN near_ip
         ELSE src_ip END AS d_ip
  FROM near
),
gaps AS (
  SELECT *,
    lag(ts) OVER (PARTITION BY account_id, d_ip, d_client ORDER BY ts, event_key) AS prev_ts
  FROM derive_on
),
runs AS (
  -- the first event of a run (none before it, or a gap before it) starts it: its time is the run's earliest (every
  -- event has a time: ingest quarantines a line without one)
  SELECT *,
    last_value(CASE WHEN prev_ts IS NULL OR ts - prev_ts >= to_minutes(CAST($gap_minutes AS BIGINT)) THEN ts END
               IGNORE NULLS)
      OVER (PARTITION BY account_id, d_ip, d_client ORDER BY ts, event_key
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_start
  FROM gaps
),
keyed AS (
  SELECT * EXCLUDE (prev_ts, run_start, d_ip, d_client),
    CASE WHEN session_id IS NOT NULL THEN 'log:' || account_id || '/' || session_id
         ELSE 'derived:' || left(sha256(concat_ws('|', account_id, coalesce(d_ip, '-'),
                coalesce(d_client, '-'), CAST(run_start AS VARCHAR))), 16)
    END AS session_key
  FROM runs
),
filled AS (
  SELECT *,
    coalesce(src_ip, last_value(src_ip IGNORE NULLS) OVER before_it, first_value(src_ip IGNORE NULLS) OVER after_it)
      AS seg_ip,
    coalesce(user_agent, last_value(user_agent IGNORE NULLS) OVER before_it,
             first_value(user_agent IGNORE NULLS) OVER after_it) AS seg_client
  FROM keyed
  WINDOW before_it AS (PARTITION BY account_id, session_key ORDER BY ts, event_key, patient_id NULLS FIRST
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
         after_it AS (PARTITION BY account_id, session_key ORDER BY ts, event_key, patient_id NULLS FIRST
                      ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)
),
final AS (
  SELECT *,
    session_key || '/' || left(sha256(concat_ws('|', coalesce(seg_ip, '-'), coalesce(seg_client, '-'))), 8)
      AS segment_key
  FROM filled
)
SELECT * FROM final ORDER BY account_id, ts, event_key, patient_id NULLS FIRST;
