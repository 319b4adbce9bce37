-- question: do the affected and attempted lists (unassigned patients included) account for every patient the
--           scoped accesses touched, exactly once each?
-- params: none
-- reads: scope_accesses, scope_affected, scope_attempted
-- order: one row when broken
-- assumptions: returns a row when the invariant breaks; an empty result means it holds.
WITH touched AS (SELECT count(DISTINCT patient_id) AS n FROM scope_accesses WHERE counted),
listed AS (
  SELECT count(DISTINCT patient_id) AS n FROM (
    SELECT patient_id FROM scope_affected UNION ALL SELECT patient_id FROM scope_attempted)
),
overlap AS (
  SELECT count(*) AS n FROM (SELECT DISTINCT patient_id FROM scope_affected)
  JOIN (SELECT DISTINCT patient_id FROM scope_attempted) USING (patient_id)
)
SELECT t.n AS touched, l.n AS listed, o.n AS in_both
FROM touched t, listed l, overlap o
WHERE t.n <> l.n OR o.n > 0
