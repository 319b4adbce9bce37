-- question: which accounts does the incident name as compromised? (a table the window's extract joins: the same
--           on DuckDB and on Spark, where a list parameter is not portable)
-- params: accounts
-- reads: nothing
-- writes: scope_accounts
-- order: account_id
CREATE OR REPLACE TEMP TABLE scope_accounts AS
SELECT DISTINCT account_id FROM (SELECT unnest(CAST($accounts AS VARCHAR[])) AS account_id)
ORDER BY account_id;
