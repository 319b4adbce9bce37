-- question: which patients were reached, for each data controller (practice) that must tell them,
--           how far, with which actions and data, when, through which accounts and sessions?
-- params: none
-- reads: scope_accesses, patients
-- writes: scope_affected
-- order: practice_id, patient_id
-- assumptions: a patient registered with several practices appears once per practice; attribution is
--              'attacker' when any reaching session was judged the attacker's, else 'undetermined'.
CREATE OR REPLACE TABLE scope_affected AS
WITH reached AS (SELECT * FROM scope_accesses WHERE reached),
per_patient AS (
  SELECT patient_id,
    CASE max(level) WHEN 1 THEN 'listed' WHEN 2 THEN 'opened' ELSE 'copied' END AS exposure,
    bool_or(modifies) AS modified,
    string_agg(DISTINCT action, '|' ORDER BY action) AS actions,
    string_agg(DISTINCT category, '|' ORDER BY category) AS categories,
    min(ts) AS first_access, max(ts) AS last_access,
    string_agg(DISTINCT account_id, '|' ORDER BY account_id) AS accounts,
    string_agg(DISTINCT session_key, '|' ORDER BY session_key) AS sessions,
    count(*) AS n_accesses,
    string_agg(DISTINCT patient_link, '|' ORDER BY patient_link) AS patient_links,
    CASE WHEN bool_or(verdict = 'attacker') THEN 'attacker' ELSE 'undetermined' END AS attribution
  FROM reached
  GROUP BY patient_id
),
final AS (
  SELECT p.practice_id, r.*
  FROM per_patient r
  LEFT JOIN patients p USING (patient_id)
)
SELECT * FROM final ORDER BY practice_id NULLS FIRST, patient_id
