-- question: account × patient detail as written to exposures.csv.
-- params: none
-- reads: scope_exposures
-- order: account_id, patient_id
-- assumptions: instants in UTC (iso_utc).
SELECT account_id, patient_id, exposure, modified, actions, categories,
  iso_utc(first_access) AS first_access_utc,
  iso_utc(last_access) AS last_access_utc,
  n_accesses, n_sessions, n_segments, attribution
FROM scope_exposures
ORDER BY account_id, patient_id
