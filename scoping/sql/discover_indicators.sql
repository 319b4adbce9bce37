-- question: which addresses and clients did the suspect sessions use that no account used in the baseline
--           (candidate indicators for the incident definition)?
-- params: threshold
-- reads: discover_events, discover_baseline, discover_signals, discover_pivot
-- order: kind, value
-- assumptions: an address is no indicator when an account not flagged used it in a request not refused. An event
--   always has an account (ingest quarantines a line without one), so NOT EXISTS says what NOT IN would.
--   Spark runs this file too (engine = "spark", over the period's events it keeps; only the indicators come back):
--   it keeps to the portable subset of scoping/spark_sql.py.
WITH flagged AS (
  SELECT account_id FROM (SELECT * FROM discover_signals UNION ALL SELECT * FROM discover_pivot)
  GROUP BY account_id HAVING sum(points) >= CAST($threshold AS BIGINT)
),
base_ips AS (SELECT DISTINCT account_id, src_ip FROM discover_baseline WHERE src_ip IS NOT NULL),
base_clients AS (SELECT DISTINCT user_agent FROM discover_baseline WHERE user_agent IS NOT NULL),
used_by_others AS (
  SELECT DISTINCT src_ip FROM discover_events e
  WHERE e.in_period AND e.src_ip IS NOT NULL AND e.outcome <> 'failure'
    AND NOT EXISTS (SELECT 1 FROM flagged f WHERE f.account_id = e.account_id)
),
ips AS (
  SELECT DISTINCT 'ip' AS kind, e.src_ip AS value
  FROM discover_events e JOIN flagged USING (account_id)
  WHERE e.in_period AND e.src_ip IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM base_ips b WHERE b.src_ip = e.src_ip)
    AND NOT EXISTS (SELECT 1 FROM used_by_others o WHERE o.src_ip = e.src_ip)
),
clients AS (
  SELECT DISTINCT 'client' AS kind, e.user_agent AS value
  FROM discover_events e JOIN flagged USING (account_id)
  WHERE e.in_period AND e.user_agent IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM base_clients b WHERE b.user_agent = e.user_agent)
),
final AS (SELECT * FROM ips UNION ALL SELECT * FROM clients)
SELECT kind, value FROM final ORDER BY kind, value
