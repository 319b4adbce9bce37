-- question: how many lines of the files just read were quarantined because a patient list was written as a JSON
--           string (a list encoded twice, never guessed at)? Per source.
-- params: ids, reason
-- reads: quarantine, evidence
-- order: source
-- assumptions: a quarantine row stands for the lines source_line..source_line_end; its reason starts with $reason.
SELECT e.source, sum(coalesce(q.source_line_end, q.source_line) - q.source_line + 1) AS lines
FROM quarantine q JOIN evidence e ON e.source_id = q.source_id
WHERE list_contains($ids, q.source_id) AND starts_with(q.reason, $reason)
GROUP BY ALL
ORDER BY ALL
