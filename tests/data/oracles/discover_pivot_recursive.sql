-- question: (test oracle) discovery's pivot as it was defined before the bounded loop: one recursive CTE. The tests
--           compare the loop (discover_pivot_seeds, discover_pivot_step, discover_pivot) with it. Not shipped.
-- params: seed_points, gateway_min_accounts, max_depth
-- reads: discover_events, discover_baseline, discover_signals
-- writes: discover_pivot
-- order: account_id
-- assumptions: only successful activity counts as using an address; an address already in an account's
--   own baseline, or used by gateway_min_accounts or more accounts in the baseline, never links accounts.
CREATE OR REPLACE TEMP TABLE discover_pivot AS
WITH RECURSIVE
base_ips AS (SELECT DISTINCT account_id, src_ip FROM discover_baseline WHERE src_ip IS NOT NULL),
gateways AS (
  SELECT src_ip FROM base_ips GROUP BY src_ip HAVING count(*) >= CAST($gateway_min_accounts AS BIGINT)
),
new_ips AS (
  SELECT DISTINCT e.account_id, e.src_ip
  FROM discover_events e
  LEFT JOIN base_ips b ON b.account_id = e.account_id AND b.src_ip = e.src_ip
  WHERE e.in_period AND e.src_ip IS NOT NULL AND e.outcome <> 'failure' AND b.src_ip IS NULL
    AND e.src_ip NOT IN (SELECT src_ip FROM gateways)
),
seeds AS (
  SELECT account_id FROM discover_signals WHERE points >= CAST($seed_points AS BIGINT) GROUP BY account_id
),
walk(account_id, src_ip, depth, via) AS (
  SELECT n.account_id, n.src_ip, 0, n.account_id FROM new_ips n JOIN seeds s USING (account_id)
  UNION
  SELECT n2.account_id, n2.src_ip, w.depth + 1, w.account_id
  FROM walk w
  JOIN new_ips n1 ON n1.src_ip = w.src_ip AND n1.account_id <> w.account_id
  JOIN new_ips n2 ON n2.account_id = n1.account_id
  WHERE w.depth < CAST($max_depth AS BIGINT)
),
final AS (
  SELECT account_id, 'pivot' AS signal, 20 AS points,
    'used ' || string_agg(DISTINCT src_ip, ', ' ORDER BY src_ip) || ', new to it and used by suspect account(s) '
      || string_agg(DISTINCT via, ', ' ORDER BY via) AS reason,
    NULL::TIMESTAMPTZ AS first_ts, NULL::TIMESTAMPTZ AS last_ts
  FROM walk
  WHERE depth > 0 AND account_id NOT IN (SELECT account_id FROM seeds)
  GROUP BY account_id
)
SELECT * FROM final ORDER BY account_id;
