-- question: which evidence files must be read again with the files being re-read, because some of their lines
--           were judged duplicates or conflicting versions of lines of those files (and so on, transitively)?
-- params: source_ids
-- reads: duplicates, conflicts
-- order: source_id
-- assumptions: a line's judgement names the line it repeats (first_source_id); when that file is re-read, its
--   lines may change, so the judgement is made again, which needs the line itself: its file is re-read too.
WITH RECURSIVE edges AS (
  SELECT DISTINCT source_id, first_source_id FROM duplicates WHERE source_id <> first_source_id
  UNION
  SELECT DISTINCT source_id, first_source_id FROM conflicts WHERE source_id <> first_source_id
),
closure(source_id) AS (
  SELECT unnest($source_ids)
  UNION
  SELECT e.source_id FROM edges e JOIN closure c ON e.first_source_id = c.source_id
),
final AS (SELECT source_id FROM closure WHERE NOT list_contains($source_ids, source_id))
SELECT source_id FROM final ORDER BY source_id
