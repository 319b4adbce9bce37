-- question: which addresses and clients did the suspect sessions use that no account used in the baseline
--           (candidate indicators for the incident definition)?
-- params: threshold
-- reads: discover_events, discover_baseline, discover_signals, discover_pivot
-- order: kind, value
-- assumptions: an address is no indicator when an account not flagged used it in a request not refused. An event
--   always has an account (ingest quarantines a line without one), so NOT EXISTS says what NOT IN would. The
--   period's events are read once, grouped by account, address, client and refusal (uses). Spark runs this file
--   too (engine = "spark", over the period's events it keeps; only the indicators come back): it keeps to the
--   portable subset of scoping/spark_sql.py.
WITH flagged AS (
  SELECT account_id FROM (SELECT * FROM discover_signals UNION ALL SELECT * FROM discover_pivot)
  GROUP BY account_id HAVING sum(points) >= CAST($threshold AS BIGINT)
),
base_ips AS (SELECT DISTINCT account_id, src_ip FROM discover_baseline WHERE src_ip IS NOT NULL),
base_clients AS (SELECT DISTINCT user_agent FROM discover_baseline WHERE user_agent IS NOT NULL),
uses AS (
  -- one pass over the period's events: each account's addresses and clients, and whether a request was not refused
  SELECT account_id, src_ip, user_agent, outcome <> 'failure' AS ok
  FROM discover_events WHERE in_period
  GROUP BY account_id, src_ip, user_agent, outcome <> 'failure'
),
used_by_others AS (
  SELECT DISTINCT src_ip FROM uses u
  WHERE u.src_ip IS NOT NULL AND u.ok
    AND NOT EXISTS (SELECT 1 FROM flagged f WHERE f.account_id = u.account_id)
),
ips AS (
  SELECT DISTINCT 'ip' AS kind, u.src_ip AS value
  FROM uses u JOIN flagged USING (account_id)
  WHERE u.src_ip IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM base_ips b WHERE b.src_ip = u.src_ip)
    AND NOT EXISTS (SELECT 1 FROM used_by_others o WHERE o.src_ip = u.src_ip)
),
clients AS (
  SELECT DISTINCT 'client' AS kind, u.user_agent AS value
  FROM uses u JOIN flagged USING (account_id)
  WHERE u.user_agent IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM base_clients b WHERE b.user_agent = u.user_agent)
),
final AS (SELECT * FROM ips UNION ALL SELECT * FROM clients)
SELECT kind, value FROM final ORDER BY kind, value
