-- question: for each account, which signals of compromise does its activity in the examined period show,
--           against its own baseline? One row per account and signal, with points and a reason in words.
-- params: min_foreign_patients, spray_min_accounts, gateway_min_accounts, volume_min_ratio
-- reads: discover_events, discover_baseline, discover_habits, accounts
-- writes: discover_signals
-- order: account_id, points DESC, signal
-- assumptions: robust statistics per account (median of its baseline), never a global threshold; a log session
--   used from two addresses, one of them never seen for the account, is a replayed session cookie;
--   an address used by gateway_min_accounts or more accounts in the baseline is a shared gateway
--   (carrier, hospital) and never counts as evidence on its own. An event always has an account (ingest quarantines a
--   line without one), so NOT EXISTS says what NOT IN would. The period's events are read in a few grouping passes
--   (uses: one row per account, log session, address, client and refused or not; patients: one per account and
--   patient; patient_hours), and every signal is made of those small tables. Spark runs this file too (engine =
--   "spark", over the period's events it keeps): it keeps to the portable subset of scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE discover_signals AS
WITH base_ips AS (SELECT DISTINCT account_id, src_ip FROM discover_baseline WHERE src_ip IS NOT NULL),
base_clients AS (SELECT DISTINCT account_id, user_agent FROM discover_baseline WHERE user_agent IS NOT NULL),
base_accounts AS (SELECT DISTINCT account_id FROM discover_baseline),
gateways AS (
  SELECT src_ip FROM discover_baseline WHERE src_ip IS NOT NULL
  GROUP BY src_ip HAVING count(DISTINCT account_id) >= CAST($gateway_min_accounts AS BIGINT)
),
uses AS (
  -- one pass over the period's events: what the address and session signals read, one row per account, log session,
  -- address, client and whether refused (ok is null where the outcome is: such a request counts as refused)
  SELECT account_id, session_id, src_ip, user_agent, outcome <> 'failure' AS ok, min(ts) AS first_ts,
    max(ts) AS last_ts
  FROM discover_events
  GROUP BY account_id, session_id, src_ip, user_agent, outcome <> 'failure'
),
new_uses AS (
  -- the uses not refused of an account with a baseline, from an address new to it that is no shared gateway
  SELECT u.*, bc.user_agent IS NULL AS new_client
  FROM uses u
  LEFT JOIN base_ips bi ON bi.account_id = u.account_id AND bi.src_ip = u.src_ip
  LEFT JOIN base_clients bc ON bc.account_id = u.account_id AND bc.user_agent = u.user_agent
  WHERE bi.src_ip IS NULL AND u.src_ip IS NOT NULL AND u.ok
    AND NOT EXISTS (SELECT 1 FROM gateways g WHERE g.src_ip = u.src_ip)
    AND u.account_id IN (SELECT account_id FROM base_accounts)
),
departed AS (
  SELECT p.account_id, 'after_departure' AS signal, 100 AS points,
    'activity after the account holder''s departure (' || left(CAST(a.active_until AS VARCHAR), 16) || ' UTC)' AS reason,
    min(p.ts) AS first_ts, max(p.ts) AS last_ts
  FROM discover_events p JOIN accounts a USING (account_id)
  WHERE a.active_until IS NOT NULL AND p.ts >= a.active_until
  GROUP BY p.account_id, a.active_until
),
patients AS (
  -- one row per account and patient it touched in a request not refused: was it ever not its own, and when
  SELECT account_id, patient_id, bool_or(NOT own_patient) AS not_own,
    min(ts) FILTER (WHERE NOT own_patient) AS first_ts, max(ts) FILTER (WHERE NOT own_patient) AS last_ts
  FROM discover_events WHERE patient_id IS NOT NULL AND outcome <> 'failure'
  GROUP BY account_id, patient_id
),
foreign_patients AS (
  SELECT account_id, 'not_my_patient' AS signal,
    40 + CAST(round(20 * count(*) FILTER (WHERE not_own) / count(*)) AS INTEGER) AS points,
    count(*) FILTER (WHERE not_own) || ' patients outside the practice with no care '
      || 'relationship (' || CAST(round(100 * count(*) FILTER (WHERE not_own) / count(*)) AS INTEGER)
      || '% of patients touched)' AS reason,
    min(first_ts) AS first_ts, max(last_ts) AS last_ts
  FROM patients
  GROUP BY account_id
  HAVING count(*) FILTER (WHERE not_own) >= CAST($min_foreign_patients AS BIGINT)
),
new_both AS (
  SELECT account_id, 'new_address_and_client' AS signal, 30 AS points,
    'sessions from ' || string_agg(DISTINCT src_ip, ', ' ORDER BY src_ip)
      || ' with a client never seen for this account' AS reason,
    min(first_ts) AS first_ts, max(last_ts) AS last_ts
  FROM new_uses WHERE new_client
  GROUP BY account_id
),
new_address AS (
  SELECT account_id, 'new_address' AS signal, 10 AS points,
    'address(es) never seen for this account: ' || string_agg(DISTINCT src_ip, ', ' ORDER BY src_ip) AS reason,
    min(first_ts) AS first_ts, max(last_ts) AS last_ts
  FROM new_uses
  GROUP BY account_id
),
dormant AS (
  SELECT u.account_id, 'dormant' AS signal, 30 AS points,
    'no activity in the baseline, active in the period' AS reason, min(u.first_ts) AS first_ts,
    max(u.last_ts) AS last_ts
  FROM uses u
  WHERE NOT EXISTS (SELECT 1 FROM base_accounts b WHERE b.account_id = u.account_id) AND u.ok
  GROUP BY u.account_id
),
patient_hours AS (
  SELECT account_id, date_trunc('hour', ts) AS hour, patient_id,
    count(*) FILTER (WHERE action IN ('export', 'download', 'print')) AS copies
  FROM discover_events WHERE patient_id IS NOT NULL
  GROUP BY account_id, date_trunc('hour', ts), patient_id
),
hourly AS (
  SELECT account_id, hour, count(*) AS patients, CAST(sum(copies) AS BIGINT) AS copies
  FROM patient_hours
  GROUP BY account_id, hour
),
habits AS (SELECT * FROM discover_habits),
volume AS (
  SELECT h.account_id, 'volume' AS signal, 15 AS points,
    'up to ' || max(h.patients) || ' distinct patients in one hour (baseline median '
      || coalesce(CAST(b.med_patients AS INTEGER), 0) || ', max ' || coalesce(b.max_patients, 0) || ')' AS reason,
    min(h.hour) AS first_ts, max(h.hour) + INTERVAL 1 HOUR AS last_ts
  FROM hourly h LEFT JOIN habits b USING (account_id)
  WHERE h.patients >= CAST($volume_min_ratio AS DOUBLE) * greatest(coalesce(b.max_patients, 0), 5)
  GROUP BY h.account_id, b.med_patients, b.max_patients
),
copies AS (
  SELECT h.account_id, 'copies' AS signal, 10 AS points,
    'up to ' || max(h.copies) || ' exports, downloads or prints in one hour (baseline max '
      || coalesce(b.max_copies, 0) || ')' AS reason,
    min(h.hour) AS first_ts, max(h.hour) + INTERVAL 1 HOUR AS last_ts
  FROM hourly h LEFT JOIN habits b USING (account_id)
  WHERE h.copies >= CAST($volume_min_ratio AS DOUBLE) * greatest(coalesce(b.max_copies, 0), 3)
  GROUP BY h.account_id, b.max_copies
),
spray_sources AS (
  SELECT src_ip FROM discover_events WHERE action = 'login_failed' AND src_ip IS NOT NULL
  GROUP BY src_ip HAVING count(DISTINCT account_id) >= CAST($spray_min_accounts AS BIGINT)
),
spray_success AS (
  SELECT account_id, 'spray_success' AS signal, 80 AS points,
    'successful login from ' || string_agg(DISTINCT src_ip, ', ' ORDER BY src_ip)
      || ', an address that tried passwords on many accounts' AS reason,
    min(ts) AS first_ts, max(ts) AS last_ts
  FROM discover_events
  WHERE action = 'login' AND outcome <> 'failure' AND src_ip IN (SELECT src_ip FROM spray_sources)
  GROUP BY account_id
),
spray_target AS (
  SELECT account_id, 'spray_target' AS signal, 5 AS points,
    count(*) || ' failed logins from password-spraying address(es)' AS reason,
    min(ts) AS first_ts, max(ts) AS last_ts
  FROM discover_events WHERE action = 'login_failed' AND src_ip IN (SELECT src_ip FROM spray_sources)
  GROUP BY account_id
),
multi_address_sessions AS (
  SELECT account_id, session_id FROM uses WHERE session_id IS NOT NULL AND src_ip IS NOT NULL
  GROUP BY account_id, session_id HAVING count(DISTINCT src_ip) > 1
),
replayed AS (
  SELECT u.account_id, 'session_replay' AS signal, 60 AS points,
    count(DISTINCT u.session_id) || ' session(s) of the account also used from address(es) never seen for it ('
      || string_agg(DISTINCT u.src_ip, ', ' ORDER BY u.src_ip) || '): a session cookie replayed elsewhere' AS reason,
    min(u.first_ts) AS first_ts, max(u.last_ts) AS last_ts
  FROM uses u
  JOIN multi_address_sessions m USING (account_id, session_id)
  LEFT JOIN base_ips bi ON bi.account_id = u.account_id AND bi.src_ip = u.src_ip
  WHERE bi.src_ip IS NULL AND u.src_ip IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM gateways g WHERE g.src_ip = u.src_ip)
    AND u.account_id IN (SELECT account_id FROM base_accounts)
  GROUP BY u.account_id
  HAVING bool_or(u.ok)  -- refused requests of the replay still mark its span
),
final AS (
  SELECT * FROM departed UNION ALL SELECT * FROM foreign_patients UNION ALL SELECT * FROM new_both
  UNION ALL SELECT * FROM replayed
  UNION ALL SELECT * FROM new_address UNION ALL SELECT * FROM dormant UNION ALL SELECT * FROM volume
  UNION ALL SELECT * FROM copies UNION ALL SELECT * FROM spray_success UNION ALL SELECT * FROM spray_target
)
SELECT * FROM final ORDER BY account_id, points DESC, signal;
