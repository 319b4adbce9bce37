-- question: for each evidence file of this ingest, how many of its mapped lines became events, conflicting
--           versions (stored as events of their own) or duplicates, how many accesses were stored, how many local
--           times fell in a daylight-saving change, and what time span do its events cover?
-- params: none
-- reads: ingest_kept, ingest_repeats
-- order: source_id
-- assumptions: lines read and quarantined lines are counted batch by batch as the file is read; a staged run of
--   identical lines counts every line (its first is an event, a conflict or a duplicate, the rest duplicates).
WITH kept AS (
  SELECT source_id, count(*) FILTER (WHERE kind = 'event') AS events_loaded,
         count(*) FILTER (WHERE kind = 'conflict') AS conflicts,
         sum(len(patients)) AS accesses_loaded,
         sum(coalesce(source_line_end - source_line, 0)) AS run_repeats,
         count(*) FILTER (WHERE ts_flag IS NOT NULL) AS dst_flagged, min(ts) AS first_ts, max(ts) AS last_ts
  FROM ingest_kept
  GROUP BY source_id
),
repeats AS (
  SELECT source_id, sum(coalesce(source_line_end, source_line) - source_line + 1) AS duplicates
  FROM ingest_repeats WHERE kind = 'duplicate' AND NOT stored GROUP BY source_id
),
final AS (
  SELECT source_id, coalesce(k.events_loaded, 0) AS events_loaded, coalesce(k.accesses_loaded, 0) AS accesses_loaded,
         coalesce(r.duplicates, 0) + coalesce(k.run_repeats, 0) AS duplicates, coalesce(k.conflicts, 0) AS conflicts,
         coalesce(k.dst_flagged, 0) AS dst_flagged, k.first_ts, k.last_ts
  FROM kept k FULL JOIN repeats r USING (source_id)
)
SELECT * FROM final ORDER BY source_id
