-- question: where does the pivot start? The accounts whose own signals are strong enough to suspect them alone
--           (a signal of seed_points or more), at depth 0.
-- params: seed_points
-- reads: discover_signals
-- writes: discover_walk (account_id, depth, via: the account, the step of the walk that reached it, and from which
--        account; discover_pivot_step.sql adds one depth at a time)
-- order: account_id
-- assumptions: Spark runs this file too (engine = "spark"): it keeps to the portable subset of scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE discover_walk AS
SELECT account_id, CAST(0 AS BIGINT) AS depth, account_id AS via
FROM discover_signals
WHERE points >= CAST($seed_points AS BIGINT)
GROUP BY account_id
ORDER BY account_id;
