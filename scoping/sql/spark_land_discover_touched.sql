-- question: the patients each account with a signal touched, which Spark counted (discover_touched), typed as DuckDB
--           types them
-- params: none
-- reads: spark_rows (the Arrow rows Spark returned, read by a replacement scan)
-- writes: discover_touched
-- order: account_id (discover_touched.sql's order)
-- assumptions: the columns of discover_touched.sql's final, in its order.
CREATE OR REPLACE TEMP TABLE discover_touched AS
SELECT account_id, CAST(patients_touched AS BIGINT) AS patients_touched,
  CAST(patients_not_own AS BIGINT) AS patients_not_own
FROM spark_rows
ORDER BY account_id;
