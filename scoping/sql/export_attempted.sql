-- question: the attempted-only patients as written to attempted_patients.csv.
-- params: none
-- reads: scope_attempted
-- order: practice_id, patient_id
-- assumptions: instants in UTC (iso_utc); lists joined with '|'; patients no practice knows are in
--   export_unassigned instead.
SELECT practice_id, patient_id, actions, categories,
  iso_utc(first_attempt) AS first_attempt_utc,
  iso_utc(last_attempt) AS last_attempt_utc,
  accounts, n_attempts
FROM scope_attempted
WHERE practice_id IS NOT NULL
ORDER BY practice_id, patient_id
