-- question: which segment (and so which verdict) does each event of the compromised accounts belong to, from a day
--           before the first window to the end of the last? (what the analyst's timeline shows beside each line)
-- params: none
-- reads: scope_account_events, scope_segments
-- order: event_key
-- assumptions: one row per event (an event naming several patients is one event); segments outside the windows
--   (the day before) have no verdict: they are not judged.
WITH events AS (
  SELECT DISTINCT event_key, account_id, segment_key FROM scope_account_events
),
final AS (
  SELECT e.event_key, e.account_id, e.segment_key, s.verdict
  FROM events e LEFT JOIN scope_segments s USING (account_id, segment_key)
)
SELECT * FROM final ORDER BY event_key, account_id, segment_key
