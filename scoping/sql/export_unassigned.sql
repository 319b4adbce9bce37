-- question: which patients did the attacker reach or try to reach whom no practice (data controller) knows, so
--           that nobody would notify them? (unassigned_patients.csv: never dropped, never blocking the lists)
-- params: none
-- reads: scope_affected, scope_attempted
-- order: patient_id
-- assumptions: an id the patients table does not hold (a typo in a URL, a deleted record, an attacker's probe
--   such as an id with a trailing '%20'); status says whether it was reached (affected) or only attempted.
WITH affected AS (
  SELECT patient_id, 'affected' AS status, exposure, modified, actions, categories, first_access AS first_ts,
    last_access AS last_ts, accounts, n_accesses AS n_accesses, attribution
  FROM scope_affected WHERE practice_id IS NULL
),
attempted AS (
  SELECT patient_id, 'attempted', NULL, NULL, actions, categories, first_attempt, last_attempt, accounts,
    n_attempts, NULL
  FROM scope_attempted WHERE practice_id IS NULL
),
final AS (SELECT * FROM affected UNION ALL SELECT * FROM attempted)
SELECT patient_id, status, exposure, modified, actions, categories,
  iso_utc(first_ts) AS first_access_utc, iso_utc(last_ts) AS last_access_utc, accounts, n_accesses, attribution
FROM final
ORDER BY patient_id
