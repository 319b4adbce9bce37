-- question: which events of the examined period belong to the accounts proposed as compromised (a score of threshold
--           or more), whose sessions sessions_derive then finds?
-- params: threshold
-- reads: discover_events, discover_signals, discover_pivot
-- writes: session_input
-- order: ts
-- assumptions: a session is one account's (sessions_derive.sql): the sessions of these accounts are the same whatever
--   other accounts' events are there. Spark runs this file too (engine = "spark": only these accounts' events come
--   back to DuckDB, landed by spark_land_discover_session_input.sql): it keeps to the portable subset of
--   scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE session_input AS
WITH flagged AS (
  SELECT account_id FROM (SELECT * FROM discover_signals UNION ALL SELECT * FROM discover_pivot)
  GROUP BY account_id HAVING sum(points) >= CAST($threshold AS BIGINT)
)
SELECT * EXCLUDE (in_period) FROM discover_events
WHERE in_period AND account_id IN (SELECT account_id FROM flagged);
