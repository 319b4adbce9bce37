-- question: the affected-patient list as written to affected_patients.csv (and split per practice).
-- params: none
-- reads: scope_affected
-- order: practice_id, patient_id
-- assumptions: times UTC in ISO 8601 with offset, to the second (floored); lists joined with '|'.
SELECT practice_id, patient_id, exposure, modified, actions, categories,
  iso_utc(first_access) AS first_access_utc,
  iso_utc(last_access) AS last_access_utc,
  accounts, sessions, n_accesses, attribution, patient_links
FROM scope_affected
ORDER BY practice_id NULLS FIRST, patient_id
