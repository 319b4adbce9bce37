-- Spark text of scoping/sql/discover_events.sql (sqlglot 30.30.0, rewrites v2)
WITH own_by_practice AS (
  /* since when each patient is a practice's own: registered (always) or cared for (from the first contact) */
  SELECT
    practice_id,
    patient_id,
    MIN(since) AS since
  FROM (
    SELECT
      practice_id,
      patient_id,
      CAST('1900-01-01 00:00:00+00' AS TIMESTAMP) AS since
    FROM patients
    UNION ALL
    SELECT
      practice_id,
      patient_id,
      COALESCE(start_ts, CAST('1900-01-01 00:00:00+00' AS TIMESTAMP))
    FROM care
    WHERE
      NOT practice_id IS NULL
  )
  GROUP BY
    practice_id,
    patient_id
), own_by_account AS (
  SELECT
    account_id,
    patient_id,
    MIN(COALESCE(start_ts, CAST('1900-01-01 00:00:00+00' AS TIMESTAMP))) AS since
  FROM care
  WHERE
    NOT account_id IS NULL
  GROUP BY
    account_id,
    patient_id
), ev AS (
  /* only the columns discovery reads: at 1e8 events this table spills to disk, and every column counts */
  SELECT
    e.event_key,
    e.ts,
    e.account_id,
    e.session_id,
    e.src_ip,
    e.user_agent,
    e.action,
    e.category,
    e.patient_id,
    e.outcome,
    e.ts >= CAST(:period_start AS TIMESTAMP) AS in_period,
    a.practice_id AS account_practice
  FROM events AS e
  LEFT JOIN accounts AS a
    USING (account_id)
  WHERE
    e.ts >= CAST(:period_start AS TIMESTAMP)
    AND e.ts < CAST(:period_end AS TIMESTAMP)
), final AS (
  SELECT
    ev.*
    EXCEPT (account_practice),
    CASE
      WHEN ev.patient_id IS NULL
      THEN NULL
      ELSE COALESCE(p.since <= ev.ts, FALSE) OR COALESCE(c.since <= ev.ts, FALSE)
    END AS own_patient
  FROM ev
  LEFT JOIN own_by_practice AS p
    ON p.practice_id = ev.account_practice AND p.patient_id = ev.patient_id
  LEFT JOIN own_by_account AS c
    ON c.account_id = ev.account_id AND c.patient_id = ev.patient_id
)
SELECT
  *
FROM final
