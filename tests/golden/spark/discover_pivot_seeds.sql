-- Spark text of scoping/sql/discover_pivot_seeds.sql (sqlglot 30.30.0, rewrites v2)
SELECT
  account_id,
  CAST(0 AS BIGINT) AS depth,
  account_id AS via
FROM discover_signals
WHERE
  points >= CAST(:seed_points AS BIGINT)
GROUP BY
  account_id
ORDER BY
  account_id NULLS LAST
