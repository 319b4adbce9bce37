-- question: starting from the accounts with the strongest evidence, which other accounts used the same
--           new addresses, and which addresses did those use, until nothing new appears?
-- params: none
-- reads: discover_walk, discover_new_ips
-- writes: discover_pivot
-- order: account_id
-- assumptions: the walk (discover_pivot_seeds.sql, then discover_pivot_step.sql once per depth up to max_depth)
--   follows only new addresses used in requests not refused (discover_new_ips.sql: an address already in an
--   account's own baseline, or a shared gateway, never links accounts). An account reached at depth 1 or more that
--   is not a seed scores the pivot, with every new address it used and every account that led to it.
--   Spark runs this file too (engine = "spark"): it keeps to the portable subset of scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE discover_pivot AS
WITH reached AS (
  SELECT w.account_id, string_agg(DISTINCT w.via, ', ' ORDER BY w.via) AS vias
  FROM discover_walk w
  WHERE w.depth > 0
    AND NOT EXISTS (SELECT 1 FROM discover_walk s WHERE s.depth = 0 AND s.account_id = w.account_id)
  GROUP BY w.account_id
),
addresses AS (
  SELECT n.account_id, string_agg(DISTINCT n.src_ip, ', ' ORDER BY n.src_ip) AS ips
  FROM discover_new_ips n JOIN reached r USING (account_id)
  GROUP BY n.account_id
),
final AS (
  SELECT r.account_id, 'pivot' AS signal, 20 AS points,
    'used ' || a.ips || ', new to it and used by suspect account(s) ' || r.vias AS reason,
    CAST(NULL AS TIMESTAMPTZ) AS first_ts, CAST(NULL AS TIMESTAMPTZ) AS last_ts
  FROM reached r JOIN addresses a USING (account_id)
)
SELECT * FROM final ORDER BY account_id;
