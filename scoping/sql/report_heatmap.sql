-- question: at which hours of which weekdays did the compromised accounts touch patients, in their
--           baseline and inside the breach windows?
-- params: tz, baseline_start
-- reads: scope_account_events, account_hours, incident_accounts, incident_windows
-- order: period, weekday, hour
-- assumptions: the baseline is counted hour by hour from account_hours, from baseline_start to the first
--   window's start (the hour holding that start counts as baseline); the breach from the events inside
--   the windows.
WITH breach AS (
  SELECT date_trunc('hour', e.ts) AS h, count(*) AS accesses
  FROM scope_account_events e
  WHERE e.patient_id IS NOT NULL
    AND EXISTS (SELECT 1 FROM incident_windows w WHERE e.ts >= w.start_utc AND e.ts < w.end_utc)
  GROUP BY 1
),
baseline AS (
  SELECT hour AS h, sum(accesses) AS accesses
  FROM account_hours
  WHERE account_id IN (SELECT account_id FROM incident_accounts)
    AND hour >= date_trunc('hour', CAST($baseline_start AS TIMESTAMPTZ))
    AND hour < (SELECT min(start_utc) FROM incident_windows)
  GROUP BY 1
),
tagged AS (
  SELECT 'baseline' AS period, h, accesses FROM baseline WHERE accesses > 0
  UNION ALL
  SELECT 'breach', h, accesses FROM breach
),
final AS (
  SELECT period, isodow(timezone($tz, h)) AS weekday, hour(timezone($tz, h)) AS hour,
         CAST(sum(accesses) AS BIGINT) AS accesses
  FROM tagged GROUP BY ALL
)
SELECT * FROM final ORDER BY period, weekday, hour
