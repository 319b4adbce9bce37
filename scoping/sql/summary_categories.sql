-- question: which categories of data were reached, for how many patients and how many records?
-- params: none
-- reads: scope_accesses
-- order: category
SELECT category, count(DISTINCT patient_id) AS patients, count(DISTINCT event_key) AS records
FROM scope_accesses
WHERE reached AND counted
GROUP BY category
ORDER BY category
