-- question: in a dry run, which raw values did a source's mapping leave unclassified (action `other`, category
--           `unknown`), how many sampled lines each, and how many of them named a patient?
-- params: file_seqs, top
-- reads: ingest_pending, action_vocabulary
-- order: column, lines (most first), raw_value
WITH mapped AS (
  SELECT action, category, action_raw, coalesce(source_line_end, source_line) - source_line + 1 AS lines,
         len(list_filter(patients, lambda p: p IS NOT NULL)) > 0 AS named
  FROM ingest_pending WHERE list_contains($file_seqs, file_seq) AND problem IS NULL
),
tagged AS (
  SELECT 'action' AS "column", action_raw AS raw_value, sum(lines) AS lines,
         coalesce(sum(lines) FILTER (WHERE named), 0) AS with_patient
  FROM mapped WHERE action = 'other' GROUP BY ALL
  UNION ALL
  SELECT 'category', action_raw, sum(lines), coalesce(sum(lines) FILTER (WHERE named), 0)
  FROM mapped WHERE category = 'unknown' AND action NOT IN (SELECT action FROM action_vocabulary WHERE authentication) GROUP BY ALL
),
final AS (
  SELECT *, row_number() OVER (PARTITION BY "column" ORDER BY lines DESC, raw_value NULLS LAST) AS n FROM tagged
)
SELECT "column", raw_value, lines, with_patient FROM final WHERE n <= $top
ORDER BY "column", lines DESC, raw_value NULLS LAST
