-- question: record a run (or record again a run of the same id, which the same inputs give) and say when.
-- params: run_id, kind, tool_version, incident_sha256, evidence_sha256, record, summary, practice_files,
--         columns
-- reads: runs
-- writes: runs
-- order: one row
-- assumptions: recorded_at is the time of this recording, UTC; the latest run of a kind is the one recorded last.
DELETE FROM runs WHERE run_id = $run_id;
INSERT INTO runs
SELECT $run_id, $kind, now(), $tool_version, $incident_sha256, $evidence_sha256, $record, $summary, $practice_files,
  $columns;
SELECT iso_utc(recorded_at) FROM runs WHERE run_id = $run_id;
