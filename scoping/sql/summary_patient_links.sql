-- question: how was the patient of each reached access found in the logs (a column, a FHIR element, the
--           chart open in an OpenEMR session, a URL rule…)? The defensibility of each attribution.
-- params: none
-- reads: scope_accesses
-- order: patient_link
SELECT coalesce(patient_link, 'none') AS patient_link, count(DISTINCT patient_id) AS patients, count(*) AS accesses
FROM scope_accesses
WHERE reached AND counted
GROUP BY 1
ORDER BY 1
