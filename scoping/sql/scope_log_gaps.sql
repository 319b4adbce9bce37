-- question: which hours of the breach windows have no logged event at all (from any source)?
--           "no access found" means nothing for an hour the logs do not cover.
-- params: none
-- reads: events, incident_windows
-- order: hour_utc
-- assumptions: hours are UTC clock hours overlapping a window.
WITH hours AS (
  SELECT DISTINCT unnest(generate_series(date_trunc('hour', start_utc), end_utc - INTERVAL 1 MICROSECOND,
                                         INTERVAL 1 HOUR)) AS hour_utc
  FROM incident_windows
),
counts AS (
  SELECT date_trunc('hour', e.ts) AS hour_utc, count(*) AS n
  FROM events e JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
  GROUP BY 1
),
final AS (
  SELECT h.hour_utc FROM hours h LEFT JOIN counts c USING (hour_utc) WHERE c.n IS NULL
)
SELECT hour_utc FROM final ORDER BY hour_utc
