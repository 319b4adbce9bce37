-- question: for each compromised account and each patient it reached, how far did it go, with which actions, on
--           which data, when, in how many sessions and segments?
-- params: none
-- reads: scope_accesses, action_vocabulary
-- writes: scope_exposures
-- order: account_id, patient_id
-- assumptions: only reached accesses (outcome not 'failure') count; times are UTC.
CREATE OR REPLACE TABLE scope_exposures AS
WITH reached AS (SELECT * FROM scope_accesses WHERE reached AND counted),
ladder AS (SELECT DISTINCT level, exposure FROM action_vocabulary WHERE level IS NOT NULL),
per_pair AS (
  SELECT account_id, patient_id,
    max(level) AS level,
    bool_or(modifies) AS modified,
    string_agg(DISTINCT action, '|' ORDER BY action) AS actions,
    string_agg(DISTINCT category, '|' ORDER BY category) AS categories,
    min(ts) AS first_access, max(ts) AS last_access,
    count(*) AS n_accesses,
    count(DISTINCT session_key) AS n_sessions,
    count(DISTINCT segment_key) AS n_segments,
    CASE WHEN bool_or(verdict = 'attacker') THEN 'attacker' ELSE 'undetermined' END AS attribution
  FROM reached
  GROUP BY account_id, patient_id
),
final AS (
  SELECT p.account_id, p.patient_id, l.exposure, p.* EXCLUDE (account_id, patient_id, level)
  FROM per_pair p JOIN ladder l USING (level)
)
SELECT * FROM final ORDER BY account_id, patient_id;
