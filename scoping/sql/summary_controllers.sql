-- question: how many patients of each data controller (practice) were reached, by exposure?
-- params: none
-- reads: scope_affected
-- order: practice_id
-- assumptions: practice_no numbers the practices in id order: the neutral label figures and the shareable report
--   use; patients no practice knows are counted apart (summary_counts, unassigned).
WITH final AS (
  SELECT practice_id, count(*) AS patients,
    count(*) FILTER (WHERE exposure = 'listed') AS listed,
    count(*) FILTER (WHERE exposure = 'opened') AS opened,
    count(*) FILTER (WHERE exposure = 'copied') AS copied,
    count(*) FILTER (WHERE modified) AS modified
  FROM scope_affected
  WHERE practice_id IS NOT NULL
  GROUP BY practice_id
)
SELECT row_number() OVER (ORDER BY practice_id) AS practice_no, * FROM final ORDER BY practice_id
