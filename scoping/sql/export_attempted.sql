-- question: the attempted-only patients as written to attempted_patients.csv.
-- params: none
-- reads: scope_attempted
-- order: practice_id, patient_id
-- assumptions: times UTC in ISO 8601 with offset; lists joined with '|'.
SELECT practice_id, patient_id, actions, categories,
  iso_utc(first_attempt) AS first_attempt_utc,
  iso_utc(last_attempt) AS last_attempt_utc,
  accounts, n_attempts
FROM scope_attempted
ORDER BY practice_id NULLS FIRST, patient_id
