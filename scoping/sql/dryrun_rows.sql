-- question: in a dry run, what do a source's first mapped lines look like once mapped?
-- params: file_seqs, n
-- reads: ingest_pending
-- order: file_seq, source_line
SELECT file_seq, source_line, iso_utc(ts) AS ts, account_id, action, category,
       array_to_string(list_filter(patients, lambda p: p IS NOT NULL), ';') AS patients, outcome, src_ip, event_key
FROM ingest_pending
WHERE list_contains($file_seqs, file_seq) AND problem IS NULL
ORDER BY file_seq, source_line
LIMIT $n
