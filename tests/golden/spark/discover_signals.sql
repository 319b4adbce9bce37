-- Spark text of scoping/sql/discover_signals.sql (sqlglot 30.30.0, rewrites v2)
WITH period AS (
  SELECT
    *
  FROM discover_events
), base AS (
  SELECT
    *
  FROM discover_baseline
), base_ips AS (
  SELECT DISTINCT
    account_id,
    src_ip
  FROM base
  WHERE
    NOT src_ip IS NULL
), base_clients AS (
  SELECT DISTINCT
    account_id,
    user_agent
  FROM base
  WHERE
    NOT user_agent IS NULL
), base_accounts AS (
  SELECT DISTINCT
    account_id
  FROM base
), gateways AS (
  SELECT
    src_ip
  FROM base
  WHERE
    NOT src_ip IS NULL
  GROUP BY
    src_ip
  HAVING
    COUNT(DISTINCT account_id) >= CAST(:gateway_min_accounts AS BIGINT)
), departed AS (
  SELECT
    p.account_id,
    'after_departure' AS signal,
    100 AS points,
    'activity after the account holder\'s departure (' || LEFT(CONCAT(CAST(a.active_until AS STRING), '+00'), 16) || ' UTC)' AS reason,
    MIN(p.ts) AS first_ts,
    MAX(p.ts) AS last_ts
  FROM period AS p
  JOIN accounts AS a
    USING (account_id)
  WHERE
    NOT a.active_until IS NULL AND p.ts >= a.active_until
  GROUP BY
    p.account_id,
    a.active_until
), foreign_patients AS (
  SELECT
    account_id,
    'not_my_patient' AS signal,
    40 + CAST(ROUND(
      20 * COUNT(DISTINCT patient_id) FILTER(WHERE
        NOT own_patient) / COUNT(DISTINCT patient_id)
    ) AS INT) AS points,
    COUNT(DISTINCT patient_id) FILTER(WHERE
      NOT own_patient) || ' patients outside the practice with no care ' || 'relationship (' || CAST(ROUND(
      100 * COUNT(DISTINCT patient_id) FILTER(WHERE
        NOT own_patient) / COUNT(DISTINCT patient_id)
    ) AS INT) || '% of patients touched)' AS reason,
    MIN(ts) FILTER(WHERE
      NOT own_patient) AS first_ts,
    MAX(ts) FILTER(WHERE
      NOT own_patient) AS last_ts
  FROM period
  WHERE
    NOT patient_id IS NULL AND outcome <> 'failure'
  GROUP BY
    account_id
  HAVING
    COUNT(DISTINCT patient_id) FILTER(WHERE
      NOT own_patient) >= CAST(:min_foreign_patients AS BIGINT)
), new_both AS (
  SELECT
    p.account_id,
    'new_address_and_client' AS signal,
    30 AS points,
    'sessions from ' || CASE
      WHEN COUNT(p.src_ip) > 0
      THEN ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(p.src_ip)), ', ')
    END || ' with a client never seen for this account' AS reason,
    MIN(p.ts) AS first_ts,
    MAX(p.ts) AS last_ts
  FROM period AS p
  LEFT JOIN base_ips AS bi
    ON bi.account_id = p.account_id AND bi.src_ip = p.src_ip
  LEFT JOIN base_clients AS bc
    ON bc.account_id = p.account_id AND bc.user_agent = p.user_agent
  WHERE
    bi.src_ip IS NULL
    AND bc.user_agent IS NULL
    AND NOT p.src_ip IS NULL
    AND p.outcome <> 'failure'
    AND NOT EXISTS(
      SELECT
        1
      FROM gateways AS g
      WHERE
        g.src_ip = p.src_ip
    )
    AND p.account_id IN (
      SELECT
        account_id
      FROM base_accounts
    )
  GROUP BY
    p.account_id
), new_address AS (
  SELECT
    p.account_id,
    'new_address' AS signal,
    10 AS points,
    'address(es) never seen for this account: ' || CASE
      WHEN COUNT(p.src_ip) > 0
      THEN ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(p.src_ip)), ', ')
    END AS reason,
    MIN(p.ts) AS first_ts,
    MAX(p.ts) AS last_ts
  FROM period AS p
  LEFT JOIN base_ips AS bi
    ON bi.account_id = p.account_id AND bi.src_ip = p.src_ip
  WHERE
    bi.src_ip IS NULL
    AND NOT p.src_ip IS NULL
    AND p.outcome <> 'failure'
    AND NOT EXISTS(
      SELECT
        1
      FROM gateways AS g
      WHERE
        g.src_ip = p.src_ip
    )
    AND p.account_id IN (
      SELECT
        account_id
      FROM base_accounts
    )
  GROUP BY
    p.account_id
), dormant AS (
  SELECT
    p.account_id,
    'dormant' AS signal,
    30 AS points,
    'no activity in the baseline, active in the period' AS reason,
    MIN(p.ts) AS first_ts,
    MAX(p.ts) AS last_ts
  FROM period AS p
  WHERE
    NOT EXISTS(
      SELECT
        1
      FROM base_accounts AS b
      WHERE
        b.account_id = p.account_id
    )
    AND p.outcome <> 'failure'
  GROUP BY
    p.account_id
), hourly AS (
  SELECT
    account_id,
    TRUE AS in_period,
    DATE_TRUNC('HOUR', ts) AS hour,
    COUNT(DISTINCT patient_id) AS patients,
    COUNT(*) FILTER(WHERE
      action IN ('export', 'download', 'print')) AS copies
  FROM discover_events
  WHERE
    NOT patient_id IS NULL
  GROUP BY ALL
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
    h.in_period
    AND h.patients >= CAST(:volume_min_ratio AS DOUBLE) * GREATEST(COALESCE(b.max_patients, 0), 5)
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
    h.in_period
    AND h.copies >= CAST(:volume_min_ratio AS DOUBLE) * GREATEST(COALESCE(b.max_copies, 0), 3)
  GROUP BY
    h.account_id,
    b.max_copies
), spray_sources AS (
  SELECT
    src_ip
  FROM period
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
  FROM period
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
  FROM period
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
  FROM period
  WHERE
    NOT session_id IS NULL AND NOT src_ip IS NULL
  GROUP BY
    account_id,
    session_id
  HAVING
    COUNT(DISTINCT src_ip) > 1
), replayed AS (
  SELECT
    p.account_id,
    'session_replay' AS signal,
    60 AS points,
    COUNT(DISTINCT p.session_id) || ' session(s) of the account also used from address(es) never seen for it (' || CASE
      WHEN COUNT(p.src_ip) > 0
      THEN ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(p.src_ip)), ', ')
    END || '): a session cookie replayed elsewhere' AS reason,
    MIN(p.ts) AS first_ts,
    MAX(p.ts) AS last_ts
  FROM period AS p
  JOIN multi_address_sessions AS m
    USING (account_id, session_id)
  LEFT JOIN base_ips AS bi
    ON bi.account_id = p.account_id AND bi.src_ip = p.src_ip
  WHERE
    bi.src_ip IS NULL
    AND NOT p.src_ip IS NULL
    AND NOT EXISTS(
      SELECT
        1
      FROM gateways AS g
      WHERE
        g.src_ip = p.src_ip
    )
    AND p.account_id IN (
      SELECT
        account_id
      FROM base_accounts
    )
  GROUP BY
    p.account_id
  HAVING
    BOOL_OR(p.outcome <> 'failure') /* refused requests of the replay still mark its span */
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
