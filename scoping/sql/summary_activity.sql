-- question: when did the attacker act, and when did segments that could not be attributed act? First and last
--           event and first and last patient reached inside the windows, stated apart for attacker and
--           undetermined segments (the one story about time that the command line, summary.json, the report and
--           the figures tell).
-- params: none
-- reads: scope_account_events, scope_segments, scope_accesses, incident_windows
-- order: verdict
-- assumptions: undetermined segments are stated even when the lists leave them out (counted_in_lists says
--   which); only events inside the windows; instants in UTC with the log's sub-second digits (iso_utc).
WITH events AS (
  SELECT s.verdict, e.ts
  FROM scope_account_events e
  JOIN scope_segments s USING (account_id, segment_key)
  JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
  WHERE s.verdict IN ('attacker', 'undetermined')
),
per_verdict AS (
  SELECT verdict, min(ts) AS first_activity, max(ts) AS last_activity, count(*) AS events
  FROM events GROUP BY verdict
),
reached AS (
  SELECT verdict, min(ts) AS first_access, max(ts) AS last_access, count(DISTINCT patient_id) AS patients,
    bool_or(counted) AS counted
  FROM scope_accesses WHERE reached GROUP BY verdict
),
verdicts AS (SELECT unnest(['attacker', 'undetermined']) AS verdict),
final AS (
  SELECT v.verdict, iso_utc(p.first_activity) AS first_activity_utc, iso_utc(p.last_activity) AS last_activity_utc,
    iso_utc(r.first_access) AS first_access_utc, iso_utc(r.last_access) AS last_access_utc,
    coalesce(p.events, 0) AS events, coalesce(r.patients, 0) AS patients_reached,
    coalesce(r.counted, v.verdict = 'attacker') AS counted_in_lists
  FROM verdicts v LEFT JOIN per_verdict p USING (verdict) LEFT JOIN reached r USING (verdict)
)
SELECT * FROM final ORDER BY verdict
