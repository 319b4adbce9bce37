-- question: how many patients of each data controller (practice) were reached, by exposure?
-- params: none
-- reads: scope_affected
-- order: practice_id
SELECT practice_id, count(*) AS patients,
  count(*) FILTER (WHERE exposure = 'listed') AS listed,
  count(*) FILTER (WHERE exposure = 'opened') AS opened,
  count(*) FILTER (WHERE exposure = 'copied') AS copied,
  count(*) FILTER (WHERE modified) AS modified
FROM scope_affected
GROUP BY practice_id
ORDER BY practice_id NULLS FIRST
