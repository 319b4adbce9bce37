-- question: one step of the pivot: which accounts used a new address that an account reached at the step before
--           (depth - 1) also used, and from which of them?
-- params: depth
-- reads: discover_walk, discover_new_ips
-- writes: discover_walk (the rows of this depth are added)
-- order: none (rows added to discover_walk)
-- assumptions: discover.py runs the steps depth = 1, 2, … max_depth and stops early at a step that adds no row.
--   Only the accounts first reached at depth - 1 go on: an account reached again later links nothing it did not
--   link the first time, so the walk ends once a step reaches no new account, even around a cycle. Every account a
--   step reaches is added with the account it came from (via), reached before or not: the pivot's reason names every
--   suspect account that led to it. Spark runs this file too (engine = "spark", appending to the walk it keeps): it
--   keeps to the portable subset of scoping/spark_sql.py.
INSERT INTO discover_walk
WITH frontier AS (
  SELECT account_id FROM discover_walk GROUP BY account_id HAVING min(depth) = CAST($depth AS BIGINT) - 1
),
final AS (
  SELECT DISTINCT n2.account_id, CAST($depth AS BIGINT) AS depth, f.account_id AS via
  FROM frontier f
  JOIN discover_new_ips n1 ON n1.account_id = f.account_id
  JOIN discover_new_ips n2 ON n2.src_ip = n1.src_ip AND n2.account_id <> n1.account_id
)
SELECT account_id, depth, via FROM final;
