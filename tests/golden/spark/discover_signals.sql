-- Spark text of scoping/sql/discover_signals.sql (sqlglot 30.30.0, rewrites v2)
WITH base_ips AS (
  SELECT DISTINCT
    account_id,
    src_ip
  FROM discover_baseline
  WHERE
    NOT src_ip IS NULL
), base_clients AS (
  SELECT DISTINCT
    account_id,
    user_agent
  FROM discover_baseline
  WHERE
    NOT user_agent IS NULL
), base_accounts AS (
  SELECT DISTINCT
    account_id
  FROM discover_baseline
), gateways AS (
  SELECT
    src_ip
  FROM discover_baseline
  WHERE
    NOT src_ip IS NULL
  GROUP BY
    src_ip
  HAVING
    COUNT(DISTINCT account_id) >= CAST(:gateway_min_accounts AS BIGINT)
), uses AS (
  /* one pass over the period's events: what the address and session signals read, one row per account, log session, */
  /* address, client and whether refused (ok is null where the outcome is: such a request counts as refused) */
  SELECT
    account_id,
    session_id,
    src_ip,
    user_agent,
    outcome <> 'failure' AS ok,
    MIN(ts) AS first_ts,
    MAX(ts) AS last_ts
  FROM discover_events
  GROUP BY
    account_id,
    session_id,
    src_ip,
    user_agent,
    outcome <> 'failure'
), new_uses AS (
  /* the uses not refused of an account with a baseline, from an address new to it that is no shared gateway */
  SELECT
    u.*,
    bc.user_agent IS NULL AS new_client
  FROM uses AS u
  LEFT JOIN base_ips AS bi
    ON bi.account_id = u.account_id AND bi.src_ip = u.src_ip
  LEFT JOIN base_clients AS bc
    ON bc.account_id = u.account_id AND bc.user_agent = u.user_agent
  WHERE
    bi.src_ip IS NULL
    AND NOT u.src_ip IS NULL
    AND u.ok
    AND NOT EXISTS(
      SELECT
        1
      FROM gateways AS g
      WHERE
        g.src_ip = u.src_ip
    )
    AND u.account_id IN (
      SELECT
        account_id
      FROM base_accounts
    )
), departed AS (
  SELECT
    p.account_id,
    'after_departure' AS signal,
    100 AS points,
    'activity after the account holder\'s departure (' || LEFT(CONCAT(CAST(a.active_until AS STRING), '+00'), 16) || ' UTC)' AS reason,
    MIN(p.ts) AS first_ts,
    MAX(p.ts) AS last_ts
  FROM discover_events AS p
  JOIN accounts AS a
    USING (account_id)
  WHERE
    NOT a.active_until IS NULL AND p.ts >= a.active_until
  GROUP BY
    p.account_id,
    a.active_until
), patients AS (
  /* one row per account and patient it touched in a request not refused: was it ever not its own, and when */
  SELECT
    account_id,
    patient_id,
    BOOL_OR(NOT own_patient) AS not_own,
    MIN(ts) FILTER(WHERE
      NOT own_patient) AS first_ts,
    MAX(ts) FILTER(WHERE
      NOT own_patient) AS last_ts
  FROM discover_events
  WHERE
    NOT patient_id IS NULL AND outcome <> 'failure'
  GROUP BY
    account_id,
    patient_id
), foreign_patients AS (
  SELECT
    account_id,
    'not_my_patient' AS signal,
    40 + CAST(ROUND(20 * COUNT(*) FILTER(WHERE
      not_own) / COUNT(*)) AS INT) AS points,
    COUNT(*) FILTER(WHERE
      not_own) || ' patients outside the practice with no care ' || 'relationship (' || CAST(ROUND(100 * COUNT(*) FILTER(WHERE
      not_own) / COUNT(*)) AS INT) || '% of patients touched)' AS reason,
    MIN(first_ts) AS first_ts,
    MAX(last_ts) AS last_ts
  FROM patients
  GROUP BY
    account_id
  HAVING
    COUNT(*) FILTER(WHERE
      not_own) >= CAST(:min_foreign_patients AS BIGINT)
), new_both AS (
  SELECT
    account_id,
    'new_address_and_client' AS signal,
    30 AS points,
    'sessions from ' || CASE
      WHEN COUNT(src_ip) > 0
      THEN ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(src_ip)), ', ')
    END || ' with a client never seen for this account' AS reason,
    MIN(first_ts) AS first_ts,
    MAX(last_ts) AS last_ts
  FROM new_uses
  WHERE
    new_client
  GROUP BY
    account_id
), new_address AS (
  SELECT
    account_id,
    'new_address' AS signal,
    10 AS points,
    'address(es) never seen for this account: ' || CASE
      WHEN COUNT(src_ip) > 0
      THEN ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(src_ip)), ', ')
    END AS reason,
    MIN(first_ts) AS first_ts,
    MAX(last_ts) AS last_ts
  FROM new_uses
  GROUP BY
    account_id
), dormant AS (
  SELECT
    u.account_id,
    'dormant' AS signal,
    30 AS points,
    'no activity in the baseline, active in the period' AS reason,
    MIN(u.first_ts) AS first_ts,
    MAX(u.last_ts) AS last_ts
  FROM uses AS u
  WHERE
    NOT EXISTS(
      SELECT
        1
      FROM base_accounts AS b
      WHERE
        b.account_id = u.account_id
    )
    AND u.ok
  GROUP BY
    u.account_id
), patient_hours AS (
  SELECT
    account_id,
    DATE_TRUNC('HOUR', ts) AS hour,
    patient_id,
    COUNT(*) FILTER(WHERE
      action IN ('export', 'download', 'print')) AS copies
  FROM discover_events
  WHERE
    NOT patient_id IS NULL
  GROUP BY
    account_id,
    DATE_TRUNC('HOUR', ts),
    patient_id
), hourly AS (
  SELECT
    account_id,
    hour,
    COUNT(*) AS patients,
    CAST(SUM(copies) AS BIGINT) AS copies
  FROM patient_hours
  GROUP BY
    account_id,
    hour
), habits AS (
  SELECT
    *
  FROM discover_habits
), volume AS (
  SELECT
    h.account_id,
    'volume' AS signal,
    15 AS points,
    'up to ' || MAX(h.patients) || ' distinct patients in one hour (baseline median ' || COALESCE(CAST(BROUND(b.med_patients, 0) AS INT), 0) || ', max ' || COALESCE(b.max_patients, 0) || ')' AS reason,
    MIN(h.hour) AS first_ts,
    MAX(h.hour) + INTERVAL '1' HOUR AS last_ts
  FROM hourly AS h
  LEFT JOIN habits AS b
    USING (account_id)
  WHERE
    h.patients >= CAST(:volume_min_ratio AS DOUBLE) * GREATEST(COALESCE(b.max_patients, 0), 5)
  GROUP BY
    h.account_id,
    b.med_patients,
    b.max_patients
), copies AS (
  SELECT
    h.account_id,
    'copies' AS signal,
    10 AS points,
    'up to ' || MAX(h.copies) || ' exports, downloads or prints in one hour (baseline max ' || COALESCE(b.max_copies, 0) || ')' AS reason,
    MIN(h.hour) AS first_ts,
    MAX(h.hour) + INTERVAL '1' HOUR AS last_ts
  FROM hourly AS h
  LEFT JOIN habits AS b
    USING (account_id)
  WHERE
    h.copies >= CAST(:volume_min_ratio AS DOUBLE) * GREATEST(COALESCE(b.max_copies, 0), 3)
  GROUP BY
    h.account_id,
    b.max_copies
), spray_sources AS (
  SELECT
    src_ip
  FROM discover_events
  WHERE
    action = 'login_failed' AND NOT src_ip IS NULL
  GROUP BY
    src_ip
  HAVING
    COUNT(DISTINCT account_id) >= CAST(:spray_min_accounts AS BIGINT)
), spray_success AS (
  SELECT
    account_id,
    'spray_success' AS signal,
    80 AS points,
    'successful login from ' || CASE
      WHEN COUNT(src_ip) > 0
      THEN ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(src_ip)), ', ')
    END || ', an address that tried passwords on many accounts' AS reason,
    MIN(ts) AS first_ts,
    MAX(ts) AS last_ts
  FROM discover_events
  WHERE
    action = 'login'
    AND outcome <> 'failure'
    AND src_ip IN (
      SELECT
        src_ip
      FROM spray_sources
    )
  GROUP BY
    account_id
), spray_target AS (
  SELECT
    account_id,
    'spray_target' AS signal,
    5 AS points,
    COUNT(*) || ' failed logins from password-spraying address(es)' AS reason,
    MIN(ts) AS first_ts,
    MAX(ts) AS last_ts
  FROM discover_events
  WHERE
    action = 'login_failed'
    AND src_ip IN (
      SELECT
        src_ip
      FROM spray_sources
    )
  GROUP BY
    account_id
), multi_address_sessions AS (
  SELECT
    account_id,
    session_id
  FROM uses
  WHERE
    NOT session_id IS NULL AND NOT src_ip IS NULL
  GROUP BY
    account_id,
    session_id
  HAVING
    COUNT(DISTINCT src_ip) > 1
), replayed AS (
  SELECT
    u.account_id,
    'session_replay' AS signal,
    60 AS points,
    COUNT(DISTINCT u.session_id) || ' session(s) of the account also used from address(es) never seen for it (' || CASE
      WHEN COUNT(u.src_ip) > 0
      THEN ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(u.src_ip)), ', ')
    END || '): a session cookie replayed elsewhere' AS reason,
    MIN(u.first_ts) AS first_ts,
    MAX(u.last_ts) AS last_ts
  FROM uses AS u
  JOIN multi_address_sessions AS m
    USING (account_id, session_id)
  LEFT JOIN base_ips AS bi
    ON bi.account_id = u.account_id AND bi.src_ip = u.src_ip
  WHERE
    bi.src_ip IS NULL
    AND NOT u.src_ip IS NULL
    AND NOT EXISTS(
      SELECT
        1
      FROM gateways AS g
      WHERE
        g.src_ip = u.src_ip
    )
    AND u.account_id IN (
      SELECT
        account_id
      FROM base_accounts
    )
  GROUP BY
    u.account_id
  HAVING
    BOOL_OR(u.ok) /* refused requests of the replay still mark its span */
), final AS (
  SELECT
    *
  FROM departed
  UNION ALL
  SELECT
    *
  FROM foreign_patients
  UNION ALL
  SELECT
    *
  FROM new_both
  UNION ALL
  SELECT
    *
  FROM replayed
  UNION ALL
  SELECT
    *
  FROM new_address
  UNION ALL
  SELECT
    *
  FROM dormant
  UNION ALL
  SELECT
    *
  FROM volume
  UNION ALL
  SELECT
    *
  FROM copies
  UNION ALL
  SELECT
    *
  FROM spray_success
  UNION ALL
  SELECT
    *
  FROM spray_target
)
SELECT
  *
FROM final
ORDER BY
  account_id NULLS LAST,
  points DESC,
  signal NULLS LAST
