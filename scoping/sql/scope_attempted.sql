-- question: which patients did the attacker only try to reach (every access denied or failed)?
-- params: none
-- reads: scope_accesses, patients
-- writes: scope_attempted
-- order: practice_id, patient_id
-- assumptions: a patient with any reached access is affected, not attempted; a patient no practice knows has
--   practice_id NULL here and is written to unassigned_patients.csv.
CREATE OR REPLACE TABLE scope_attempted AS
WITH per_patient AS (
  SELECT patient_id,
    bool_or(reached) AS any_reached,
    string_agg(DISTINCT action, '|' ORDER BY action) AS actions,
    string_agg(DISTINCT category, '|' ORDER BY category) AS categories,
    min(ts) AS first_attempt, max(ts) AS last_attempt,
    string_agg(DISTINCT account_id, '|' ORDER BY account_id) AS accounts,
    count(*) AS n_attempts
  FROM scope_accesses
  WHERE counted
  GROUP BY patient_id
),
final AS (
  SELECT c.practice_id, a.* EXCLUDE (any_reached)
  FROM per_patient a
  LEFT JOIN patients c USING (patient_id)
  WHERE NOT a.any_reached
)
SELECT * FROM final ORDER BY practice_id NULLS FIRST, patient_id;
