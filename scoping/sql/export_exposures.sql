-- question: account × patient detail as written to exposures.csv.
-- params: none
-- reads: scope_exposures
-- order: account_id, patient_id
SELECT account_id, patient_id, exposure, modified, actions, categories,
  strftime(first_access, '%Y-%m-%dT%H:%M:%S+00:00') AS first_access_utc,
  strftime(last_access, '%Y-%m-%dT%H:%M:%S+00:00') AS last_access_utc,
  n_accesses, n_sessions, attribution
FROM scope_exposures
ORDER BY account_id, patient_id
