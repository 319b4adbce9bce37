-- question: which addresses and clients did the suspect sessions use that no account used in the baseline
--           (candidate indicators for the incident definition)?
-- params: threshold
-- reads: discover_events, discover_baseline, discover_signals, discover_pivot
-- order: kind, value
WITH flagged AS (
  SELECT account_id FROM (SELECT * FROM discover_signals UNION ALL SELECT * FROM discover_pivot)
  GROUP BY account_id HAVING sum(points) >= CAST($threshold AS BIGINT)
),
base_ips AS (SELECT DISTINCT account_id, src_ip FROM discover_baseline WHERE src_ip IS NOT NULL),
base_clients AS (SELECT DISTINCT user_agent FROM discover_baseline WHERE user_agent IS NOT NULL),
ips AS (
  SELECT DISTINCT 'ip' AS kind, e.src_ip AS value
  FROM discover_events e JOIN flagged USING (account_id)
  WHERE e.in_period AND e.src_ip IS NOT NULL
    AND e.src_ip NOT IN (SELECT src_ip FROM base_ips)
    AND e.src_ip NOT IN (SELECT src_ip FROM discover_events WHERE in_period AND src_ip IS NOT NULL
                         AND account_id NOT IN (SELECT account_id FROM flagged) AND outcome <> 'failure')
),
clients AS (
  SELECT DISTINCT 'client' AS kind, e.user_agent AS value
  FROM discover_events e JOIN flagged USING (account_id)
  WHERE e.in_period AND e.user_agent IS NOT NULL AND e.user_agent NOT IN (SELECT user_agent FROM base_clients)
),
final AS (SELECT * FROM ips UNION ALL SELECT * FROM clients)
SELECT kind, value FROM final ORDER BY kind, value
