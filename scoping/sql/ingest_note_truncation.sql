-- question: record that a compressed evidence file ends early: the unreadable rest becomes one
--           quarantine line after the last line read.
-- params: source_line, reason
-- reads: staging_mapped
-- writes: staging_mapped
-- order: not applicable (one row inserted)
INSERT INTO staging_mapped (source_line, problem) VALUES ($source_line, $reason)
