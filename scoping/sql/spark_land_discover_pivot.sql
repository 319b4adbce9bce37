-- question: the accounts Spark's pivot reached (discover_pivot), typed as DuckDB types them
-- params: none
-- reads: spark_rows (the Arrow rows Spark returned, read by a replacement scan)
-- writes: discover_pivot
-- order: account_id (discover_pivot.sql's order)
-- assumptions: the columns of discover_pivot.sql's final, in its order.
CREATE OR REPLACE TEMP TABLE discover_pivot AS
SELECT account_id, signal, CAST(points AS INTEGER) AS points, reason, CAST(first_ts AS TIMESTAMPTZ) AS first_ts,
  CAST(last_ts AS TIMESTAMPTZ) AS last_ts
FROM spark_rows
ORDER BY account_id;
