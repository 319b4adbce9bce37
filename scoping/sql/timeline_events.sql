-- question: what did the compromised accounts do inside the windows, event by event, with the verdict of each
--           event's segment? (the timeline handed to Timesketch or another timeline tool)
-- params: window_starts, window_ends
-- reads: events, evidence, event_segments (the run's table, read as a frame)
-- order: ts, event_key, patient_id
-- assumptions: every event of a compromised account inside a window (logins and refused requests included); an
--   event naming several patients is one row per patient; instants in UTC (iso_utc) and epoch microseconds.
WITH windows AS (
  SELECT CAST(unnest(CAST($window_starts AS VARCHAR[])) AS TIMESTAMPTZ) AS start_utc,
         CAST(unnest(CAST($window_ends AS VARCHAR[])) AS TIMESTAMPTZ) AS end_utc
),
final AS (
  SELECT e.ts, iso_utc(e.ts) AS datetime, epoch_us(e.ts) AS timestamp, e.account_id, e.session_id, s.segment_key,
    s.verdict, e.src_ip, e.user_agent, e.action, e.action_raw, e.category, e.outcome, e.patient_id, e.resource_type,
    e.resource_id, e.event_key, v.path AS source_path, e.source_line
  FROM events e
  JOIN event_segments s ON s.event_key = e.event_key AND s.account_id = e.account_id
  JOIN windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
  LEFT JOIN evidence v USING (source_id)
)
SELECT * EXCLUDE (ts) FROM final ORDER BY ts, event_key, patient_id NULLS FIRST
