-- question: which patient lists of the files just read held objects that no mapping member named, so that their
--           events name no patient (`patient_id = "results[].id"` would read them)? Per source and field.
-- params: ids, flag
-- reads: events, evidence
-- order: source, field
-- assumptions: the mapping flags such an event with `field <name> <flag>` in record_flags; an event stands for
--   one line (source_id, source_line).
SELECT e.source, regexp_extract(v.record_flags, 'field (.*) ' || $flag, 1) AS field,
       count(DISTINCT (v.source_id, v.source_line)) AS events
FROM events v JOIN evidence e ON e.source_id = v.source_id
WHERE list_contains($ids, v.source_id) AND contains(v.record_flags, $flag)
GROUP BY ALL
ORDER BY ALL
