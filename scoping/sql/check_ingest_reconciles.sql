-- question: does every evidence file account for every line it holds
--           (lines read = events loaded + duplicates + quarantined), and do the stored rows agree?
-- params: none
-- reads: evidence, events, duplicates, quarantine
-- order: source_id
-- assumptions: returns the evidence files that break the rule; an empty result means all reconcile.
WITH ev AS (SELECT source_id, count(DISTINCT source_line) AS n FROM events GROUP BY source_id),
du AS (SELECT source_id, count(*) AS n FROM duplicates GROUP BY source_id),
qu AS (SELECT source_id, count(*) AS n FROM quarantine GROUP BY source_id),
final AS (
  SELECT e.source_id, e.path, e.lines_read, e.events_loaded, e.duplicates, e.quarantined,
         coalesce(ev.n, 0) AS stored_events, coalesce(du.n, 0) AS stored_duplicates,
         coalesce(qu.n, 0) AS stored_quarantine
  FROM evidence e
  LEFT JOIN ev USING (source_id) LEFT JOIN du USING (source_id) LEFT JOIN qu USING (source_id)
  WHERE e.kind = 'log'
)
SELECT * FROM final
WHERE lines_read <> events_loaded + duplicates + quarantined
   OR stored_events <> events_loaded OR stored_duplicates <> duplicates OR stored_quarantine <> quarantined
ORDER BY source_id
