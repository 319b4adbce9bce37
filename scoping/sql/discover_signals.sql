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
--   line without one), so NOT EXISTS says what NOT IN would. Spark runs this file too (engine = "spark", over the
--   period's events it keeps): it keeps to the portable subset of scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE discover_signals AS
WITH period AS (SELECT * FROM discover_events),
base AS (SELECT * FROM discover_baseline),
base_ips AS (SELECT DISTINCT account_id, src_ip FROM base WHERE src_ip IS NOT NULL),
base_clients AS (SELECT DISTINCT account_id, user_agent FROM base WHERE user_agent IS NOT NULL),
base_accounts AS (SELECT DISTINCT account_id FROM base),
gateways AS (
  SELECT src_ip FROM base WHERE src_ip IS NOT NULL
  GROUP BY src_ip HAVING count(DISTINCT account_id) >= CAST($gateway_min_accounts AS BIGINT)
),
departed AS (
  SELECT p.account_id, 'after_departure' AS signal, 100 AS points,
    'activity after the account holder''s departure (' || left(CAST(a.active_until AS VARCHAR), 16) || ' UTC)' AS reason,
    min(p.ts) AS first_ts, max(p.ts) AS last_ts
  FROM period p JOIN accounts a USING (account_id)
  WHERE a.active_until IS NOT NULL AND p.ts >= a.active_until
  GROUP BY p.account_id, a.active_until
),
foreign_patients AS (
  SELECT account_id, 'not_my_patient' AS signal,
    40 + CAST(round(20 * count(DISTINCT patient_id) FILTER (WHERE NOT own_patient)
                    / count(DISTINCT patient_id)) AS INTEGER) AS points,
    count(DISTINCT patient_id) FILTER (WHERE NOT own_patient) || ' patients outside the practice with no care '
      || 'relationship (' || CAST(round(100 * count(DISTINCT patient_id) FILTER (WHERE NOT own_patient)
      / count(DISTINCT patient_id)) AS INTEGER) || '% of patients touched)' AS reason,
    min(ts) FILTER (WHERE NOT own_patient) AS first_ts, max(ts) FILTER (WHERE NOT own_patient) AS last_ts
  FROM period WHERE patient_id IS NOT NULL AND outcome <> 'failure'
  GROUP BY account_id
  HAVING count(DISTINCT patient_id) FILTER (WHERE NOT own_patient) >= CAST($min_foreign_patients AS BIGINT)
),
new_both AS (
  SELECT p.account_id, 'new_address_and_client' AS signal, 30 AS points,
    'sessions from ' || string_agg(DISTINCT p.src_ip, ', ' ORDER BY p.src_ip)
      || ' with a client never seen for this account' AS reason,
    min(p.ts) AS first_ts, max(p.ts) AS last_ts
  FROM period p
  LEFT JOIN base_ips bi ON bi.account_id = p.account_id AND bi.src_ip = p.src_ip
  LEFT JOIN base_clients bc ON bc.account_id = p.account_id AND bc.user_agent = p.user_agent
  WHERE bi.src_ip IS NULL AND bc.user_agent IS NULL AND p.src_ip IS NOT NULL AND p.outcome <> 'failure'
    AND NOT EXISTS (SELECT 1 FROM gateways g WHERE g.src_ip = p.src_ip)
    AND p.account_id IN (SELECT account_id FROM base_accounts)
  GROUP BY p.account_id
),
new_address AS (
  SELECT p.account_id, 'new_address' AS signal, 10 AS points,
    'address(es) never seen for this account: ' || string_agg(DISTINCT p.src_ip, ', ' ORDER BY p.src_ip) AS reason,
    min(p.ts) AS first_ts, max(p.ts) AS last_ts
  FROM period p
  LEFT JOIN base_ips bi ON bi.account_id = p.account_id AND bi.src_ip = p.src_ip
  WHERE bi.src_ip IS NULL AND p.src_ip IS NOT NULL AND p.outcome <> 'failure'
    AND NOT EXISTS (SELECT 1 FROM gateways g WHERE g.src_ip = p.src_ip)
    AND p.account_id IN (SELECT account_id FROM base_accounts)
  GROUP BY p.account_id
),
dormant AS (
  SELECT p.account_id, 'dormant' AS signal, 30 AS points,
    'no activity in the baseline, active in the period' AS reason, min(p.ts) AS first_ts, max(p.ts) AS last_ts
  FROM period p
  WHERE NOT EXISTS (SELECT 1 FROM base_accounts b WHERE b.account_id = p.account_id)
    AND p.outcome <> 'failure'
  GROUP BY p.account_id
),
hourly AS (
  SELECT account_id, true AS in_period, date_trunc('hour', ts) AS hour, count(DISTINCT patient_id) AS patients,
    count(*) FILTER (WHERE action IN ('export', 'download', 'print')) AS copies
  FROM discover_events WHERE patient_id IS NOT NULL
  GROUP BY ALL
),
habits AS (SELECT * FROM discover_habits),
volume AS (
  SELECT h.account_id, 'volume' AS signal, 15 AS points,
    'up to ' || max(h.patients) || ' distinct patients in one hour (baseline median '
      || coalesce(CAST(b.med_patients AS INTEGER), 0) || ', max ' || coalesce(b.max_patients, 0) || ')' AS reason,
    min(h.hour) AS first_ts, max(h.hour) + INTERVAL 1 HOUR AS last_ts
  FROM hourly h LEFT JOIN habits b USING (account_id)
  WHERE h.in_period AND h.patients >= CAST($volume_min_ratio AS DOUBLE) * greatest(coalesce(b.max_patients, 0), 5)
  GROUP BY h.account_id, b.med_patients, b.max_patients
),
copies AS (
  SELECT h.account_id, 'copies' AS signal, 10 AS points,
    'up to ' || max(h.copies) || ' exports, downloads or prints in one hour (baseline max '
      || coalesce(b.max_copies, 0) || ')' AS reason,
    min(h.hour) AS first_ts, max(h.hour) + INTERVAL 1 HOUR AS last_ts
  FROM hourly h LEFT JOIN habits b USING (account_id)
  WHERE h.in_period AND h.copies >= CAST($volume_min_ratio AS DOUBLE) * greatest(coalesce(b.max_copies, 0), 3)
  GROUP BY h.account_id, b.max_copies
),
spray_sources AS (
  SELECT src_ip FROM period WHERE action = 'login_failed' AND src_ip IS NOT NULL
  GROUP BY src_ip HAVING count(DISTINCT account_id) >= CAST($spray_min_accounts AS BIGINT)
),
spray_success AS (
  SELECT account_id, 'spray_success' AS signal, 80 AS points,
    'successful login from ' || string_agg(DISTINCT src_ip, ', ' ORDER BY src_ip)
      || ', an address that tried passwords on many accounts' AS reason,
    min(ts) AS first_ts, max(ts) AS last_ts
  FROM period WHERE action = 'login' AND outcome <> 'failure' AND src_ip IN (SELECT src_ip FROM spray_sources)
  GROUP BY account_id
),
spray_target AS (
  SELECT account_id, 'spray_target' AS signal, 5 AS points,
    count(*) || ' failed logins from password-spraying address(es)' AS reason,
    min(ts) AS first_ts, max(ts) AS last_ts
  FROM period WHERE action = 'login_failed' AND src_ip IN (SELECT src_ip FROM spray_sources)
  GROUP BY account_id
),
multi_address_sessions AS (
  SELECT account_id, session_id FROM period WHERE session_id IS NOT NULL AND src_ip IS NOT NULL
  GROUP BY account_id, session_id HAVING count(DISTINCT src_ip) > 1
),
replayed AS (
  SELECT p.account_id, 'session_replay' AS signal, 60 AS points,
    count(DISTINCT p.session_id) || ' session(s) of the account also used from address(es) never seen for it ('
      || string_agg(DISTINCT p.src_ip, ', ' ORDER BY p.src_ip) || '): a session cookie replayed elsewhere' AS reason,
    min(p.ts) AS first_ts, max(p.ts) AS last_ts
  FROM period p
  JOIN multi_address_sessions m USING (account_id, session_id)
  LEFT JOIN base_ips bi ON bi.account_id = p.account_id AND bi.src_ip = p.src_ip
  WHERE bi.src_ip IS NULL AND p.src_ip IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM gateways g WHERE g.src_ip = p.src_ip)
    AND p.account_id IN (SELECT account_id FROM base_accounts)
  GROUP BY p.account_id
  HAVING bool_or(p.outcome <> 'failure')  -- refused requests of the replay still mark its span
),
final AS (
  SELECT * FROM departed UNION ALL SELECT * FROM foreign_patients UNION ALL SELECT * FROM new_both
  UNION ALL SELECT * FROM replayed
  UNION ALL SELECT * FROM new_address UNION ALL SELECT * FROM dormant UNION ALL SELECT * FROM volume
  UNION ALL SELECT * FROM copies UNION ALL SELECT * FROM spray_success UNION ALL SELECT * FROM spray_target
)
SELECT * FROM final ORDER BY account_id, points DESC, signal;
