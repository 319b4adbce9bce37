-- Spark text of scoping/sql/discover_pivot.sql (sqlglot 30.30.0, rewrites v2)
WITH reached AS (
  SELECT
    w.account_id,
    CASE
      WHEN COUNT(w.via) > 0
      THEN ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(w.via)), ', ')
    END AS vias
  FROM discover_walk AS w
  WHERE
    w.depth > 0
    AND NOT EXISTS(
      SELECT
        1
      FROM discover_walk AS s
      WHERE
        s.depth = 0 AND s.account_id = w.account_id
    )
  GROUP BY
    w.account_id
), addresses AS (
  SELECT
    n.account_id,
    CASE
      WHEN COUNT(n.src_ip) > 0
      THEN ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(n.src_ip)), ', ')
    END AS ips
  FROM discover_new_ips AS n
  JOIN reached AS r
    USING (account_id)
  GROUP BY
    n.account_id
), final AS (
  SELECT
    r.account_id,
    'pivot' AS signal,
    20 AS points,
    'used ' || a.ips || ', new to it and used by suspect account(s) ' || r.vias AS reason,
    CAST(NULL AS TIMESTAMP) AS first_ts,
    CAST(NULL AS TIMESTAMP) AS last_ts
  FROM reached AS r
  JOIN addresses AS a
    USING (account_id)
)
SELECT
  *
FROM final
ORDER BY
  account_id NULLS LAST
