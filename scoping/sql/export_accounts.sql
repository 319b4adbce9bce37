-- question: the compromised accounts: their practice, departure, sessions by verdict and patients reached
--           (accounts.csv).
-- params: none
-- reads: incident_accounts, accounts, scope_sessions, scope_exposures
-- order: account_id
WITH s AS (
  SELECT account_id,
    count(*) FILTER (WHERE verdict = 'attacker') AS attacker_sessions,
    count(*) FILTER (WHERE verdict = 'owner') AS owner_sessions,
    count(*) FILTER (WHERE verdict = 'undetermined') AS undetermined_sessions,
    min(session_start) FILTER (WHERE verdict <> 'owner') AS first_suspect,
    max(session_end) FILTER (WHERE verdict <> 'owner') AS last_suspect
  FROM scope_sessions GROUP BY account_id
),
x AS (SELECT account_id, count(DISTINCT patient_id) AS patients_reached FROM scope_exposures GROUP BY account_id),
final AS (
  SELECT i.account_id, a.practice_id, a.role,
    iso_utc(a.active_until) AS active_until_utc,
    coalesce(s.attacker_sessions, 0) AS attacker_sessions,
    coalesce(s.owner_sessions, 0) AS owner_sessions,
    coalesce(s.undetermined_sessions, 0) AS undetermined_sessions,
    coalesce(x.patients_reached, 0) AS patients_reached,
    iso_utc(s.first_suspect) AS first_suspect_activity_utc,
    iso_utc(s.last_suspect) AS last_suspect_activity_utc
  FROM incident_accounts i
  LEFT JOIN accounts a USING (account_id)
  LEFT JOIN s USING (account_id)
  LEFT JOIN x USING (account_id)
)
SELECT * FROM final ORDER BY account_id
