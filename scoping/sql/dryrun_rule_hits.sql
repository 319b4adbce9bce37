-- question: in a dry run, how many of a source's sampled, mapped lines did each of its rules match?
-- params: file_seqs, rules
-- reads: ingest_pending
-- order: rule (its position in case.toml)
-- assumptions: rule_hits[i] says whether every `when` of rule i matched the line; quarantined lines are left out;
--   a run of identical lines counts every line.
WITH mapped AS (
  SELECT rule_hits, coalesce(source_line_end, source_line) - source_line + 1 AS lines
  FROM ingest_pending WHERE list_contains($file_seqs, file_seq) AND problem IS NULL
),
final AS (
  SELECT r.i AS rule, coalesce(sum(m.lines) FILTER (WHERE m.rule_hits[r.i]), 0) AS hits
  FROM range(1, $rules + 1) r(i) LEFT JOIN mapped m ON true
  GROUP BY r.i
)
SELECT rule, hits FROM final ORDER BY rule
