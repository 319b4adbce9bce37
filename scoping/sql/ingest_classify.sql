-- question: for each line of the file being ingested, is it an event, a duplicate of an event already
--           loaded (earlier in this file, in another file, or in an earlier ingest), or quarantined?
-- params: none
-- reads: staging_mapped, events, staging_events
-- order: source_line
-- assumptions: duplicates are judged on event_key before patients are spread out; the first
--              occurrence (earliest ingest, then earliest line) is the one kept.
CREATE OR REPLACE TABLE staging_classified AS
WITH good AS (
  SELECT *, row_number() OVER (PARTITION BY event_key ORDER BY source_line) AS nth_in_file
  FROM staging_mapped
  WHERE problem IS NULL
),
earlier AS (
  SELECT event_key, min_by(source_id, source_line) AS first_source_id, min(source_line) AS first_source_line
  FROM (SELECT event_key, source_id, source_line FROM events
        UNION ALL
        SELECT event_key, source_id, source_line FROM staging_events)
  WHERE event_key IN (SELECT event_key FROM good)
  GROUP BY event_key
),
first_in_file AS (
  SELECT event_key, min(source_line) AS first_line FROM good GROUP BY event_key
),
final AS (
  SELECT g.*,
    CASE WHEN e.event_key IS NOT NULL OR g.nth_in_file > 1 THEN 'duplicate' ELSE 'event' END AS status,
    e.first_source_id,
    coalesce(e.first_source_line, f.first_line) AS first_source_line
  FROM good g
  LEFT JOIN earlier e USING (event_key)
  LEFT JOIN first_in_file f USING (event_key)
)
SELECT * FROM final ORDER BY source_line
