-- question: which runs does the case hold, newest first (of one kind, or all when kind is NULL)?
-- params: kind
-- reads: runs
-- order: recorded_at descending, run_id
SELECT run_id, kind, iso_utc(recorded_at) AS recorded_at_utc,
  iso_utc(first_recorded_at) AS first_recorded_at_utc, tool_version, incident_sha256, evidence_sha256,
  record, summary, practice_files, frame_columns
FROM runs
WHERE $kind IS NULL OR kind = $kind
ORDER BY recorded_at DESC, run_id
