-- question: for each evidence file of this ingest, how many of its mapped lines became events or
--           duplicates, how many accesses were stored, how many local times fell in a daylight-saving
--           change, and what time span do its events cover?
-- params: none
-- reads: ingest_kept, ingest_repeats
-- order: source_id
-- assumptions: lines read and quarantined lines are counted batch by batch as the file is read.
WITH kept AS (
  SELECT p.source_id, count(*) AS events_loaded, sum(len(p.patients)) AS accesses_loaded,
         count(*) FILTER (WHERE p.ts_flag IS NOT NULL) AS dst_flagged, min(p.ts) AS first_ts, max(p.ts) AS last_ts
  FROM ingest_kept p
  GROUP BY p.source_id
),
repeats AS (
  SELECT source_id, count(*) AS duplicates FROM ingest_repeats GROUP BY source_id
),
final AS (
  SELECT source_id, coalesce(k.events_loaded, 0) AS events_loaded, coalesce(k.accesses_loaded, 0) AS accesses_loaded,
         coalesce(r.duplicates, 0) AS duplicates, coalesce(k.dst_flagged, 0) AS dst_flagged, k.first_ts, k.last_ts
  FROM kept k FULL JOIN repeats r USING (source_id)
)
SELECT * FROM final ORDER BY source_id
