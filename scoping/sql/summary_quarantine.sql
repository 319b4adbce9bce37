-- question: why were lines quarantined, how many per reason and file?
-- params: none
-- reads: quarantine, evidence
-- order: path, reason
SELECT e.path, regexp_replace(q.reason, ':.*$', '') AS reason, count(*) AS lines, min(q.source_line) AS first_line
FROM quarantine q JOIN evidence e USING (source_id)
GROUP BY e.path, 2
ORDER BY e.path, 2
