-- question: which addresses and clients did each compromised account use in its baseline (from the start of the
--           baseline to the first window), on which days (UTC), leaving out refused requests and the segments being
--           judged, without reading the baseline's events?
-- params: accounts, baseline_start, first_full_hour, read_start, window_start
-- reads: account_hours, events, sessioned_events, incident_windows
-- writes: scope_baseline
-- order: account_id, src_ip, user_agent, day
-- assumptions: the baseline is [baseline_start, window_start), read in three exact pieces: its whole hours up to
--   read_start from account_hours, its first partial hour [baseline_start, first_full_hour) from events (one hour:
--   zonemaps), and [read_start, window_start) from the events read (sessioned_events). The events of every segment
--   that reaches into a window are not baseline, wherever they fall: a session begun five minutes before the window
--   does not make its own address usual. Those of them older than read_start (a long session, appended by
--   scope_session_history) are taken away from the hourly counts of account_hours. A refused request is no habit
--   of the holder's (a password sprayer's failed logins would make the sprayer's address usual): only requests
--   that were not refused count. One row per account, address, client and UTC day it was used on: how many
--   different days make an address or client usual is scope_segments' rule.
CREATE OR REPLACE TEMP TABLE scope_baseline AS
WITH judged AS (
  SELECT DISTINCT e.segment_key
  FROM sessioned_events e
  JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
),
judged_early AS (
  -- events of judged segments older than read_start, by hour: to take away from account_hours
  SELECT account_id, date_trunc('hour', ts) AS hour, src_ip, user_agent, count(*) AS event_rows
  FROM sessioned_events
  WHERE ts < CAST($read_start AS TIMESTAMPTZ) AND segment_key IN (SELECT segment_key FROM judged)
    AND outcome <> 'failure'
  GROUP BY ALL
),
hours AS (
  SELECT account_id, hour, src_ip, user_agent, sum(event_rows - refused) AS event_rows FROM account_hours
  WHERE hour >= CAST($first_full_hour AS TIMESTAMPTZ) AND hour < CAST($read_start AS TIMESTAMPTZ)
    AND list_contains($accounts, account_id)
  GROUP BY ALL
),
from_hours AS (
  SELECT h.account_id, h.src_ip, h.user_agent, CAST(timezone('UTC', h.hour) AS DATE) AS day
  FROM hours h
  LEFT JOIN judged_early j ON j.account_id = h.account_id AND j.hour = h.hour
    AND j.src_ip IS NOT DISTINCT FROM h.src_ip AND j.user_agent IS NOT DISTINCT FROM h.user_agent
  WHERE h.event_rows - coalesce(j.event_rows, 0) > 0
),
from_first_hour AS (
  SELECT e.account_id, e.src_ip, e.user_agent, CAST(timezone('UTC', e.ts) AS DATE) AS day FROM events e
  WHERE e.ts >= CAST($baseline_start AS TIMESTAMPTZ) AND e.ts < CAST($first_full_hour AS TIMESTAMPTZ)
    AND list_contains($accounts, e.account_id) AND e.outcome <> 'failure'
    AND NOT EXISTS (SELECT 1 FROM sessioned_events s WHERE s.event_key = e.event_key
                    AND s.segment_key IN (SELECT segment_key FROM judged))
),
from_read AS (
  SELECT account_id, src_ip, user_agent, CAST(timezone('UTC', ts) AS DATE) AS day FROM sessioned_events
  WHERE ts >= CAST($read_start AS TIMESTAMPTZ) AND ts < CAST($window_start AS TIMESTAMPTZ)
    AND segment_key NOT IN (SELECT segment_key FROM judged) AND outcome <> 'failure'
),
final AS (
  SELECT DISTINCT account_id, src_ip, user_agent, day
  FROM (SELECT * FROM from_hours UNION ALL SELECT * FROM from_first_hour UNION ALL SELECT * FROM from_read)
)
SELECT * FROM final ORDER BY account_id, src_ip, user_agent, day;
