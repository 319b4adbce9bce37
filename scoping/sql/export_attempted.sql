-- question: the attempted-only patients as written to attempted_patients.csv.
-- params: none
-- reads: scope_attempted
-- order: practice_id, patient_id
-- assumptions: times UTC in ISO 8601 with offset; lists joined with '|'.
SELECT practice_id, patient_id, actions, categories,
  strftime(first_attempt, '%Y-%m-%dT%H:%M:%S+00:00') AS first_attempt_utc,
  strftime(last_attempt, '%Y-%m-%dT%H:%M:%S+00:00') AS last_attempt_utc,
  accounts, n_attempts
FROM scope_attempted
ORDER BY practice_id NULLS FIRST, patient_id
