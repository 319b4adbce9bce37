-- question: the signals Spark computed (discover_signals), typed as DuckDB types them
-- params: none
-- reads: spark_rows (the Arrow rows Spark returned, read by a replacement scan)
-- writes: discover_signals
-- order: account_id, points DESC, signal (discover_signals.sql's order)
-- assumptions: the columns of discover_signals.sql's final, in its order.
CREATE OR REPLACE TEMP TABLE discover_signals AS
SELECT account_id, signal, CAST(points AS INTEGER) AS points, reason, CAST(first_ts AS TIMESTAMPTZ) AS first_ts,
  CAST(last_ts AS TIMESTAMPTZ) AS last_ts
FROM spark_rows
ORDER BY account_id, points DESC, signal;
