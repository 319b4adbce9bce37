-- question: for each compromised account and each patient it reached, how far did it go, with which
--           actions, on which data, when, in how many sessions?
-- params: none
-- reads: scope_accesses
-- writes: scope_exposures
-- order: account_id, patient_id
-- assumptions: only reached accesses (outcome not 'failure') count; times are UTC.
CREATE OR REPLACE TABLE scope_exposures AS
WITH reached AS (SELECT * FROM scope_accesses WHERE reached),
final AS (
  SELECT account_id, patient_id,
    CASE max(level) WHEN 1 THEN 'listed' WHEN 2 THEN 'opened' ELSE 'copied' END AS exposure,
    bool_or(modifies) AS modified,
    string_agg(DISTINCT action, '|' ORDER BY action) AS actions,
    string_agg(DISTINCT category, '|' ORDER BY category) AS categories,
    min(ts) AS first_access, max(ts) AS last_access,
    count(*) AS n_accesses,
    count(DISTINCT session_key) AS n_sessions,
    CASE WHEN bool_or(verdict = 'attacker') THEN 'attacker' ELSE 'undetermined' END AS attribution
  FROM reached
  GROUP BY account_id, patient_id
)
SELECT * FROM final ORDER BY account_id, patient_id
