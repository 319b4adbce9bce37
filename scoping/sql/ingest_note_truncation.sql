-- question: record that a compressed evidence file ends early: the unreadable rest becomes one
--           quarantine line after the last line read.
-- params: source_id, file_seq, source_line, reason
-- reads: nothing
-- writes: ingest_pending
-- order: not applicable (one row inserted)
INSERT INTO ingest_pending (source_id, file_seq, source_line, problem) VALUES ($source_id, $file_seq, $source_line, $reason)
