-- question: for the accounts that score at or above the threshold, which segments of their sessions in the period
--           (the part of a session from one address and one client) look like the attacker's and which like the
--           owner's, and why?
-- params: threshold
-- reads: sessioned_events (the period's events of the accounts scoring threshold or more, with their sessions),
--        discover_baseline, discover_signals, discover_pivot, accounts
-- order: account_id, session_start_utc, segment_key
WITH flagged AS (
  SELECT account_id FROM (SELECT * FROM discover_signals UNION ALL SELECT * FROM discover_pivot)
  GROUP BY account_id HAVING sum(points) >= CAST($threshold AS BIGINT)
),
base_ips AS (SELECT DISTINCT account_id, src_ip FROM discover_baseline WHERE src_ip IS NOT NULL),
base_clients AS (
  SELECT DISTINCT account_id, user_agent FROM discover_baseline WHERE user_agent IS NOT NULL
),
per_session AS (
  SELECT e.account_id, e.session_key, e.segment_key,
    min(e.ts) AS session_start, max(e.ts) AS session_end,
    any_value(e.seg_ip) AS src_ips,
    any_value(e.seg_client) AS user_agents,
    count(DISTINCT e.patient_id) AS patients,
    count(DISTINCT e.patient_id) FILTER (WHERE NOT e.own_patient) AS patients_not_own,
    bool_or(a.active_until IS NOT NULL AND e.ts >= a.active_until) AS after_departure,
    bool_or(e.seg_ip IS NOT NULL AND bi.src_ip IS NULL) AS new_address,
    bool_or(e.seg_client IS NOT NULL AND bc.user_agent IS NULL) AS new_client,
    bool_and(e.outcome = 'failure') AS only_failures
  FROM sessioned_events e
  JOIN flagged USING (account_id)
  LEFT JOIN accounts a USING (account_id)
  LEFT JOIN base_ips bi ON bi.account_id = e.account_id AND bi.src_ip = e.seg_ip
  LEFT JOIN base_clients bc ON bc.account_id = e.account_id AND bc.user_agent = e.seg_client
  GROUP BY e.account_id, e.session_key, e.segment_key
),
with_session AS (
  -- a replayed session: its holder's usual address and client in one segment, a new address in another
  SELECT *, new_address AND bool_or(NOT new_address AND NOT new_client)
                              OVER (PARTITION BY account_id, session_key) AS replayed
  FROM per_session
),
final AS (
  SELECT account_id, session_key, segment_key,
    iso_utc(session_start) AS session_start_utc,
    iso_utc(session_end) AS session_end_utc,
    src_ips, user_agents, patients, patients_not_own,
    (CASE WHEN after_departure THEN 100 ELSE 0 END) + (CASE WHEN new_address THEN 20 ELSE 0 END)
      + (CASE WHEN new_client THEN 20 ELSE 0 END) + (CASE WHEN patients_not_own > 0 THEN 40 ELSE 0 END)
      + (CASE WHEN replayed THEN 40 ELSE 0 END) AS score,
    CASE WHEN after_departure OR replayed OR (new_address AND new_client) OR (new_address AND patients_not_own > 0)
           THEN 'suspect' WHEN new_address OR new_client THEN 'review' ELSE 'owner-like' END AS assessment,
    concat_ws('; ',
      CASE WHEN after_departure THEN 'after the account holder''s departure' END,
      CASE WHEN replayed THEN 'address changed inside the session to one new for the account: replayed session' END,
      CASE WHEN new_address THEN 'address new for the account' END,
      CASE WHEN new_client THEN 'client new for the account' END,
      CASE WHEN patients_not_own > 0 THEN patients_not_own || ' patients not the account''s own' END,
      CASE WHEN only_failures THEN 'every request refused' END) AS reasons,
    session_start
  FROM with_session
)
SELECT * EXCLUDE (session_start) FROM final ORDER BY account_id, session_start, segment_key
