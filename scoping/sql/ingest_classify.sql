-- question: for each line of the file being ingested, is it an event, a duplicate of an event already
--           loaded (earlier in this file, in another file, or in an earlier ingest), or quarantined?
-- params: none
-- reads: staging_mapped, events, staging_events
-- writes: staging_classified
-- order: none here (ingest_store writes in line order)
-- assumptions: duplicates are judged on event_key before patients are spread out; the first
--              occurrence (earliest ingest, then earliest file, then earliest line) is the one kept.
CREATE OR REPLACE TEMP TABLE staging_classified AS
WITH good AS (
  SELECT * FROM staging_mapped WHERE problem IS NULL
),
first_in_file AS (
  SELECT event_key, min(source_line) AS first_line FROM good GROUP BY event_key
),
earlier AS (
  SELECT event_key, min_by(source_id, source_line) AS first_source_id, min(source_line) AS first_source_line
  FROM (SELECT event_key, source_id, source_line FROM events
        UNION ALL
        SELECT event_key, source_id, source_line FROM staging_events)
  WHERE event_key IN (SELECT event_key FROM first_in_file)
  GROUP BY event_key
),
final AS (
  SELECT g.*,
    CASE WHEN e.event_key IS NOT NULL OR g.source_line > f.first_line THEN 'duplicate' ELSE 'event' END AS status,
    e.first_source_id,
    coalesce(e.first_source_line, f.first_line) AS first_source_line
  FROM good g
  JOIN first_in_file f USING (event_key)
  LEFT JOIN earlier e USING (event_key)
)
SELECT * FROM final
