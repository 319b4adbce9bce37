-- question: per patient and controller, which action touched which category, how often and when (what each
--           letter may state, verb by verb and category by category).
-- params: none
-- reads: scope_pairs
-- order: practice_id, patient_id, action, category
-- assumptions: instants in UTC (iso_utc); reached accesses only.
SELECT practice_id, patient_id, action, category, exposure, modifies, n_accesses,
  iso_utc(first_access) AS first_access_utc, iso_utc(last_access) AS last_access_utc, attribution
FROM scope_pairs
ORDER BY practice_id NULLS FIRST, patient_id, action, category
