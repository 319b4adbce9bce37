-- question: how many lines did one batch of an evidence file hold, how many of them are quarantined, and
--           which is the first whose timestamp has no UTC offset while the source names no time zone?
-- params: file_seq, first_line, last_line
-- reads: ingest_pending
-- order: one row
-- assumptions: ingest_pending is appended file by file, batch by batch, so the filter on file_seq and the
--              batch's line range reads only the batch's row groups (zonemaps), not the whole table. A staged
--              row stands for the run of identical lines source_line..source_line_end: every line counts.
SELECT coalesce(sum(coalesce(source_line_end, source_line) - source_line + 1), 0) AS lines,
       coalesce(sum(coalesce(source_line_end, source_line) - source_line + 1)
                FILTER (WHERE problem IS NOT NULL), 0) AS quarantined,
       min(source_line) FILTER (WHERE problem = 'timestamp without offset') AS naive_line
FROM ingest_pending
WHERE file_seq = $file_seq AND source_line BETWEEN $first_line AND $last_line
