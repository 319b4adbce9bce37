-- question: which events of the compromised accounts inside the windows did the mapping leave unclassified (action
--           'other' or category 'unknown'), by raw value? Their exposure may be understated (a download mapped to
--           nothing counts as 'opened'): fix the mapping and ingest again.
-- params: none
-- reads: scope_account_events, incident_windows, action_vocabulary
-- order: events descending, action_raw
-- assumptions: events naming no patient are included (an unmapped export without its list is still a warning); a
--   login or logout touches no data: its category is never missing.
WITH unmapped AS (
  SELECT coalesce(e.action_raw, '(no raw value)') AS action_raw, e.action, e.category, e.event_key
  FROM scope_account_events e
  JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
  WHERE e.action = 'other' OR (e.category = 'unknown' AND e.action NOT IN (SELECT action FROM action_vocabulary WHERE authentication))
),
final AS (
  SELECT action_raw, action, category, count(DISTINCT event_key) AS events
  FROM unmapped GROUP BY ALL
)
SELECT * FROM final ORDER BY events DESC, action_raw, action, category
