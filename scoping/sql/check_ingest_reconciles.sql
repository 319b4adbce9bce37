-- question: does every evidence file account for every line it holds
--           (lines read = events loaded + duplicates + conflicts + quarantined), and do the stored rows agree?
-- params: none
-- reads: evidence, events, duplicates, conflicts, quarantine
-- order: source_id
-- assumptions: returns the evidence files that break the rule; an empty result means all reconcile. A duplicates
--   or quarantine row stands for the lines source_line..source_line_end; a conflicting version is stored as an
--   event, so the events of a file hold its loaded and conflicting lines.
WITH ev AS (SELECT source_id, count(DISTINCT source_line) AS n FROM events GROUP BY source_id),
du AS (SELECT source_id, sum(coalesce(source_line_end, source_line) - source_line + 1) AS n
       FROM duplicates GROUP BY source_id),
co AS (SELECT source_id, count(*) AS n FROM conflicts GROUP BY source_id),
qu AS (SELECT source_id, sum(coalesce(source_line_end, source_line) - source_line + 1) AS n
       FROM quarantine GROUP BY source_id),
final AS (
  SELECT e.source_id, e.path, e.lines_read, e.events_loaded, e.duplicates, coalesce(e.conflicts, 0) AS conflicts,
         e.quarantined, coalesce(ev.n, 0) AS stored_events, coalesce(du.n, 0) AS stored_duplicates,
         coalesce(co.n, 0) AS stored_conflicts, coalesce(qu.n, 0) AS stored_quarantine
  FROM evidence e
  LEFT JOIN ev USING (source_id) LEFT JOIN du USING (source_id) LEFT JOIN co USING (source_id)
  LEFT JOIN qu USING (source_id)
  WHERE e.kind = 'log'
)
SELECT * FROM final
WHERE lines_read <> events_loaded + duplicates + conflicts + quarantined
   OR stored_events <> events_loaded + conflicts OR stored_duplicates <> duplicates
   OR stored_conflicts <> conflicts OR stored_quarantine <> quarantined
ORDER BY source_id
