-- question: which hours of the breach windows have no logged event at all (from any source), and how many
--           events do the same hours of the week usually hold? "No access found" means nothing for an hour the
--           logs do not cover; a gap in hours that are usually quiet is not the same as a gap in busy hours.
-- params: baseline_from, tz
-- reads: events, incident_windows, account_hours
-- order: hour_utc
-- assumptions: hours are UTC clock hours overlapping a window; usual_events is the mean number of events logged
--   in the same local hour of the same local weekday (in the incident's zone tz, so that working hours stay working
--   hours across a daylight-saving change) over the whole weeks from baseline_from to the first window, read from
--   account_hours (every event row of every account, hour by hour).
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
baseline_span AS (
  SELECT CAST($baseline_from AS TIMESTAMPTZ) AS b0, min(start_utc) AS w0,
    greatest(1, CAST(floor(date_diff('hour', CAST($baseline_from AS TIMESTAMPTZ), min(start_utc)) / 168) AS BIGINT))
      AS weeks
  FROM incident_windows
),
usual AS (
  SELECT isodow(timezone($tz, h.hour)) AS dow, hour(timezone($tz, h.hour)) AS hod, sum(h.event_rows) AS n
  FROM account_hours h, baseline_span b
  WHERE h.hour >= b.b0 AND h.hour < b.w0
  GROUP BY 1, 2
),
final AS (
  SELECT g.hour_utc, round(coalesce(u.n, 0) / (SELECT weeks FROM baseline_span), 1) AS usual_events
  FROM hours g
  LEFT JOIN counts c USING (hour_utc)
  LEFT JOIN usual u ON u.dow = isodow(timezone($tz, g.hour_utc)) AND u.hod = hour(timezone($tz, g.hour_utc))
  WHERE c.n IS NULL
)
SELECT hour_utc, usual_events FROM final ORDER BY hour_utc
