-- question: at what moment was each affected patient first reached? (the cumulative figure; one row per
--           patient but no identifier is returned)
-- params: none
-- reads: scope_accesses
-- order: first_ts
SELECT min(ts) AS first_ts
FROM scope_accesses
WHERE reached AND counted
GROUP BY patient_id
ORDER BY first_ts
