-- question: which addresses did each account use in the examined period, in requests not refused, that are new to it
--           (not in its own baseline) and not a shared gateway? Two accounts sharing one are linked by the pivot.
-- params: gateway_min_accounts
-- reads: discover_events, discover_baseline
-- writes: discover_new_ips
-- order: account_id, src_ip
-- assumptions: an address in the baseline of gateway_min_accounts or more accounts is a shared gateway (carrier,
--   hospital) and never links accounts. Spark runs this file too (engine = "spark", over the period's events it
--   keeps): it keeps to the portable subset of scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE discover_new_ips AS
WITH base_ips AS (SELECT DISTINCT account_id, src_ip FROM discover_baseline WHERE src_ip IS NOT NULL),
gateways AS (
  SELECT src_ip FROM base_ips GROUP BY src_ip HAVING count(*) >= CAST($gateway_min_accounts AS BIGINT)
),
final AS (
  SELECT DISTINCT e.account_id, e.src_ip
  FROM discover_events e
  LEFT JOIN base_ips b ON b.account_id = e.account_id AND b.src_ip = e.src_ip
  WHERE e.in_period AND e.src_ip IS NOT NULL AND e.outcome <> 'failure' AND b.src_ip IS NULL
    AND NOT EXISTS (SELECT 1 FROM gateways g WHERE g.src_ip = e.src_ip)
)
SELECT * FROM final ORDER BY account_id, src_ip;
