-- question: in a dry run, how many sampled lines of a source were read, and why were some quarantined (reasons
--           with their number of lines, first line and an example)?
-- params: file_seqs
-- reads: ingest_pending
-- order: the total first (reason NULL), then reasons by lines (most first), reason
-- assumptions: a staged row stands for the run of identical lines source_line..source_line_end.
WITH staged AS (
  SELECT problem, coalesce(source_line_end, source_line) - source_line + 1 AS lines, source_line,
         left(coalesce(txt, CAST(raw AS VARCHAR), ''), 120) AS sample
  FROM ingest_pending WHERE list_contains($file_seqs, file_seq)
),
final AS (
  SELECT NULL::VARCHAR AS reason, coalesce(sum(lines), 0) AS lines, NULL::BIGINT AS first_line,
         NULL::VARCHAR AS example
  FROM staged
  UNION ALL
  SELECT regexp_replace(problem, ':.*$', ''), sum(lines), min(source_line), arg_min(sample, source_line)
  FROM staged WHERE problem IS NOT NULL GROUP BY 1
)
SELECT reason, lines, first_line, example FROM final
ORDER BY reason IS NOT NULL, lines DESC, reason
