-- question: which patients were reached, for each data controller (practice) that must tell them, how far, with
--           which actions and data, when, through which accounts, sessions and segments?
-- params: none
-- reads: scope_accesses, patients, action_vocabulary
-- writes: scope_affected
-- order: practice_id, patient_id
-- assumptions: a patient registered with several practices appears once per practice; a reached patient that no
--   practice knows has practice_id NULL here and is written to unassigned_patients.csv, never dropped;
--   attribution is 'attacker' when any reaching segment was judged the attacker's, else 'undetermined'.
CREATE OR REPLACE TABLE scope_affected AS
WITH reached AS (SELECT * FROM scope_accesses WHERE reached AND counted),
ladder AS (SELECT DISTINCT level, exposure FROM action_vocabulary WHERE level IS NOT NULL),
per_patient AS (
  SELECT patient_id,
    max(level) AS level,
    bool_or(modifies) AS modified,
    string_agg(DISTINCT action, '|' ORDER BY action) AS actions,
    string_agg(DISTINCT category, '|' ORDER BY category) AS categories,
    min(ts) AS first_access, max(ts) AS last_access,
    string_agg(DISTINCT account_id, '|' ORDER BY account_id) AS accounts,
    string_agg(DISTINCT session_key, '|' ORDER BY session_key) AS sessions,
    string_agg(DISTINCT segment_key, '|' ORDER BY segment_key) AS segments,
    count(*) AS n_accesses,
    string_agg(DISTINCT patient_link, '|' ORDER BY patient_link) AS patient_links,
    CASE WHEN bool_or(verdict = 'attacker') THEN 'attacker' ELSE 'undetermined' END AS attribution
  FROM reached
  GROUP BY patient_id
),
final AS (
  SELECT c.practice_id, r.patient_id, l.exposure, r.* EXCLUDE (patient_id, level)
  FROM per_patient r
  JOIN ladder l USING (level)
  LEFT JOIN patients c USING (patient_id)
)
SELECT * FROM final ORDER BY practice_id NULLS FIRST, patient_id;
