-- question: does every reached patient have a data controller in the patients table?
-- params: none
-- reads: scope_accesses, patients
-- order: first_ts
-- assumptions: returns how many reached patients have no controller (no identifiers: this message may be
--              printed); fix by adding them to the patients reference table.
WITH orphans AS (
  SELECT patient_id, min(ts) AS first_ts FROM scope_accesses
  WHERE reached AND patient_id NOT IN (SELECT patient_id FROM patients)
  GROUP BY patient_id
)
SELECT count(*) AS patients_without_controller, min(first_ts) AS earliest_access
FROM orphans
HAVING count(*) > 0
