-- question: each account's baseline before the examined period, read from account_hours: the addresses and clients
--           of its requests that were not refused
-- params: baseline_start, period_start
-- reads: account_hours
-- writes: discover_baseline
-- order: none (a table read by account)
-- assumptions: the baseline is [baseline_start, period_start), whole hours of account_hours. Refused requests are no
--   habit. Spark runs this file too (engine = "spark", over the lake's account_hours, for the Spark files after it;
--   DuckDB runs it for its own): it keeps to the portable subset of scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE discover_baseline AS
SELECT account_id, src_ip, user_agent, CAST(sum(event_rows - refused) AS BIGINT) AS event_rows
FROM account_hours
WHERE hour >= CAST($baseline_start AS TIMESTAMPTZ) AND hour < CAST($period_start AS TIMESTAMPTZ)
GROUP BY ALL
HAVING sum(event_rows - refused) > 0;
