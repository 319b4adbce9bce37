-- question: why were lines quarantined, how many lines per reason and file?
-- params: none
-- reads: quarantine, evidence
-- order: path, reason
-- assumptions: a quarantine row stands for the lines source_line..source_line_end (a run of identical lines):
--   every line is counted.
SELECT e.path, regexp_replace(q.reason, ':.*$', '') AS reason,
  sum(coalesce(q.source_line_end, q.source_line) - q.source_line + 1) AS lines, min(q.source_line) AS first_line
FROM quarantine q JOIN evidence e USING (source_id)
GROUP BY e.path, 2
ORDER BY e.path, 2
