-- question: why were the lines of one evidence file of this ingest quarantined (the most frequent reasons, with
--           their number of lines and an example of each), and what did its first quarantined lines say?
-- params: file_seq
-- reads: ingest_pending
-- order: kind ('reason' rows first, most lines first), then line
-- assumptions: a reason is counted by its text before the first ':' ("bad timestamp: 10/Nov/2025..." counts as
--   "bad timestamp"); samples are the first three quarantined lines, their text cut to 160 characters.
WITH quarantined AS (
  SELECT source_line, problem, coalesce(source_line_end, source_line) - source_line + 1 AS lines,
         left(coalesce(txt, CAST(raw AS VARCHAR), ''), 160) AS sample
  FROM ingest_pending
  WHERE file_seq = $file_seq AND problem IS NOT NULL
),
reasons AS (
  SELECT 'reason' AS kind, regexp_replace(problem, ':.*$', '') AS reason, sum(lines) AS lines,
         min(source_line) AS source_line, arg_min(problem, source_line) AS example
  FROM quarantined GROUP BY 2 ORDER BY lines DESC, reason LIMIT 3
),
samples AS (
  SELECT 'sample' AS kind, problem AS reason, lines, source_line, sample AS example
  FROM quarantined ORDER BY source_line LIMIT 3
),
final AS (SELECT * FROM reasons UNION ALL SELECT * FROM samples)
SELECT kind, reason, lines, source_line, example FROM final
ORDER BY kind, CASE WHEN kind = 'reason' THEN -lines ELSE source_line END, reason
