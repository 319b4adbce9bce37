-- question: record a run (or record again a run of the same id, which the same inputs give) and say when.
-- params: run_id, kind, tool_version, incident_sha256, evidence_sha256, record, summary, practice_files,
--         columns
-- reads: runs
-- writes: runs
-- order: one row
-- assumptions: recorded_at is the time of this recording, UTC; the latest run of a kind is the one recorded last;
--   first_recorded_at is the time a run of this id was first recorded, kept when it is recorded again (the same
--   inputs give the same run, and its report the same bytes).
INSERT INTO runs (run_id, kind, recorded_at, tool_version, incident_sha256, evidence_sha256, record, summary,
                  practice_files, frame_columns, first_recorded_at)
VALUES ($run_id, $kind, now(), $tool_version, $incident_sha256, $evidence_sha256, $record, $summary, $practice_files,
        $columns, now())
ON CONFLICT (run_id) DO UPDATE SET kind = EXCLUDED.kind, recorded_at = EXCLUDED.recorded_at,
  tool_version = EXCLUDED.tool_version, incident_sha256 = EXCLUDED.incident_sha256,
  evidence_sha256 = EXCLUDED.evidence_sha256, record = EXCLUDED.record, summary = EXCLUDED.summary,
  practice_files = EXCLUDED.practice_files, frame_columns = EXCLUDED.frame_columns;
SELECT iso_utc(recorded_at), iso_utc(first_recorded_at) FROM runs WHERE run_id = $run_id;
