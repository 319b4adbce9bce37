-- Spark text of scoping/sql/discover_pivot_step.sql (sqlglot 30.30.0, rewrites v2)
WITH frontier AS (
  SELECT
    account_id
  FROM discover_walk
  GROUP BY
    account_id
  HAVING
    MIN(depth) = CAST(:depth AS BIGINT) - 1
), final AS (
  SELECT DISTINCT
    n2.account_id,
    CAST(:depth AS BIGINT) AS depth,
    f.account_id AS via
  FROM frontier AS f
  JOIN discover_new_ips AS n1
    ON n1.account_id = f.account_id
  JOIN discover_new_ips AS n2
    ON n2.src_ip = n1.src_ip AND n2.account_id <> n1.account_id
)
SELECT
  account_id,
  depth,
  via
FROM final
