-- question: the affected-patient list as written to affected_patients.csv (and split per practice).
-- params: none
-- reads: scope_affected
-- order: practice_id, patient_id
-- assumptions: instants in UTC, ISO 8601 with offset and the log's sub-second digits (iso_utc); lists joined with
--   '|'; patients no practice knows are in export_unassigned instead.
SELECT practice_id, patient_id, exposure, modified, actions, categories,
  iso_utc(first_access) AS first_access_utc,
  iso_utc(last_access) AS last_access_utc,
  accounts, sessions, segments, n_accesses, attribution, patient_links
FROM scope_affected
WHERE practice_id IS NOT NULL
ORDER BY practice_id, patient_id
