-- question: at which hours of which weekdays did the compromised accounts touch patients, in their
--           baseline and inside the breach windows?
-- params: tz
-- reads: scope_account_events, incident_windows
-- order: period, weekday, hour
WITH tagged AS (
  SELECT e.ts,
    CASE WHEN EXISTS (SELECT 1 FROM incident_windows w WHERE e.ts >= w.start_utc AND e.ts < w.end_utc)
         THEN 'breach' ELSE 'baseline' END AS period
  FROM scope_account_events e
  WHERE e.patient_id IS NOT NULL
),
final AS (
  SELECT period, isodow(timezone($tz, ts)) AS weekday, hour(timezone($tz, ts)) AS hour, count(*) AS accesses
  FROM tagged GROUP BY ALL
)
SELECT * FROM final ORDER BY period, weekday, hour
