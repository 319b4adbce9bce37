-- question: for each patient and controller, which action touched which category of data, how often, when, and
--           through attacker or only undetermined segments? (what a letter may say, verb by verb and category by
--           category)
-- params: none
-- reads: scope_accesses, patients, action_vocabulary
-- writes: scope_pairs
-- order: practice_id, patient_id, action, category
-- assumptions: only reached accesses (outcome not 'failure'); a patient registered with several practices has
--   the same pairs under each; a patient no practice knows has practice_id NULL (unassigned_patients.csv).
CREATE OR REPLACE TABLE scope_pairs AS
WITH reached AS (SELECT * FROM scope_accesses WHERE reached AND counted),
ladder AS (SELECT DISTINCT level, exposure FROM action_vocabulary WHERE level IS NOT NULL),
per_pair AS (
  SELECT patient_id, action, category,
    max(level) AS level,
    bool_or(modifies) AS modifies,
    count(*) AS n_accesses,
    min(ts) AS first_access, max(ts) AS last_access,
    CASE WHEN bool_or(verdict = 'attacker') THEN 'attacker' ELSE 'undetermined' END AS attribution
  FROM reached
  GROUP BY patient_id, action, category
),
final AS (
  SELECT c.practice_id, p.patient_id, p.action, p.category, l.exposure, p.modifies, p.n_accesses,
    p.first_access, p.last_access, p.attribution
  FROM per_pair p
  JOIN ladder l USING (level)
  LEFT JOIN patients c USING (patient_id)
)
SELECT * FROM final ORDER BY practice_id NULLS FIRST, patient_id, action, category;
