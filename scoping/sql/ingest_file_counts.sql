-- question: how many lines of the file just ingested became events, duplicates or quarantine rows,
--           how many accesses were stored, how many local times fell in a daylight-saving change?
-- params: source_id
-- reads: staging_mapped, staging_classified, staging_events
-- order: one row
WITH m AS (
  SELECT count(*) AS lines_read, count(*) FILTER (WHERE problem IS NOT NULL) AS quarantined
  FROM staging_mapped
),
c AS (
  SELECT count(*) FILTER (WHERE status = 'event') AS events_loaded,
         count(*) FILTER (WHERE status = 'duplicate') AS duplicates,
         count(*) FILTER (WHERE status = 'event' AND ts_flag IS NOT NULL) AS dst_flagged,
         min(ts) FILTER (WHERE status = 'event') AS first_ts,
         max(ts) FILTER (WHERE status = 'event') AS last_ts
  FROM staging_classified
),
a AS (SELECT count(*) AS accesses_loaded FROM staging_events WHERE source_id = $source_id),
final AS (SELECT * FROM m, c, a)
SELECT lines_read, events_loaded, accesses_loaded, duplicates, quarantined, dst_flagged, first_ts, last_ts
FROM final
