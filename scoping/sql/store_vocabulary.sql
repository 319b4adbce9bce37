-- question: what exposure does each action give a patient it names, and does it change the record? (the one
--           vocabulary of scoping.schema, as a table every scope query joins)
-- params: actions, exposures, ladder, modifying
-- reads: nothing
-- writes: action_vocabulary (a temporary table of the connection)
-- order: level, action
-- assumptions: ladder lists the exposures lowest first (listed < opened < copied); an action with no exposure
--   (authentication) touches no record.
CREATE OR REPLACE TEMP TABLE action_vocabulary AS
WITH actions AS (
  SELECT unnest($actions) AS action, unnest($exposures) AS exposure
),
ladder AS (
  SELECT unnest($ladder) AS exposure, generate_subscripts($ladder, 1) AS level
),
final AS (
  SELECT a.action, a.exposure, l.level, list_contains($modifying, a.action) AS modifies,
    a.exposure IS NULL AS authentication
  FROM actions a LEFT JOIN ladder l USING (exposure)
)
SELECT * FROM final ORDER BY level NULLS FIRST, action;
