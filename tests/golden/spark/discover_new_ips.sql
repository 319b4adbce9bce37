-- Spark text of scoping/sql/discover_new_ips.sql (sqlglot 30.30.0, rewrites v2)
WITH base_ips AS (
  SELECT DISTINCT
    account_id,
    src_ip
  FROM discover_baseline
  WHERE
    NOT src_ip IS NULL
), gateways AS (
  SELECT
    src_ip
  FROM base_ips
  GROUP BY
    src_ip
  HAVING
    COUNT(*) >= CAST(:gateway_min_accounts AS BIGINT)
), final AS (
  SELECT DISTINCT
    e.account_id,
    e.src_ip
  FROM discover_events AS e
  LEFT JOIN base_ips AS b
    ON b.account_id = e.account_id AND b.src_ip = e.src_ip
  WHERE
    e.in_period
    AND NOT e.src_ip IS NULL
    AND e.outcome <> 'failure'
    AND b.src_ip IS NULL
    AND NOT EXISTS(
      SELECT
        1
      FROM gateways AS g
      WHERE
        g.src_ip = e.src_ip
    )
)
SELECT
  *
FROM final
ORDER BY
  account_id NULLS LAST,
  src_ip NULLS LAST
