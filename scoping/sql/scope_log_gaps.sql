-- question: which hours of the breach windows have no logged event at all (from any source), and are those hours
--           usually active or usually quiet? "No access found" means nothing for an hour the logs do not cover; an
--           empty hour that is usually busy may be a hole in the evidence, an empty night hour is just a night.
-- params: baseline_from, tz, min_accounts
-- reads: events, incident_windows, account_hours
-- order: hour_utc
-- assumptions: hours are UTC clock hours overlapping a window. An hour is compared with the same local hour of the
--   same local weekday (in the incident's zone tz, so that working hours stay working hours across a
--   daylight-saving change) in each whole week from baseline_from to the first window, counting every event row of
--   every account (account_hours). usual_events and usual_accounts are the medians of those weekly counts of events
--   and of distinct accounts (the lower one of an even number of weeks, so one busy evening among quiet weeks does
--   not make an hour usual); weeks_active is how many of the weeks held any event at that hour. An empty hour is
--   usually active when usual_accounts >= min_accounts: in more than half of the weeks at least that many people
--   worked then, and that all of them stayed away at once is unlikely (one doctor's weekly evening session is a
--   habit that may lapse, not a log that should be there).
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
  SELECT CAST($baseline_from AS TIMESTAMPTZ) AS b0,
    greatest(1, CAST(floor(date_diff('hour', CAST($baseline_from AS TIMESTAMPTZ), min(start_utc)) / 168) AS BIGINT))
      AS weeks
  FROM incident_windows
),
baseline_hours AS (
  SELECT unnest(generate_series(b0, b0 + to_hours(weeks * 168 - 1), INTERVAL 1 HOUR)) AS hour FROM baseline_span
),
logged AS (
  SELECT h.hour, CAST(sum(h.event_rows) AS BIGINT) AS n, count(DISTINCT h.account_id) AS accounts
  FROM account_hours h, baseline_span b
  WHERE h.hour >= b.b0 AND h.hour < b.b0 + to_hours(b.weeks * 168)
  GROUP BY 1
),
usual AS (
  SELECT isodow(timezone($tz, b.hour)) AS dow, hour(timezone($tz, b.hour)) AS hod,
    quantile_disc(coalesce(l.n, 0), 0.5) AS usual_events, quantile_disc(coalesce(l.accounts, 0), 0.5) AS usual_accounts,
    count(*) FILTER (WHERE l.n > 0) AS weeks_active, count(*) AS weeks
  FROM baseline_hours b LEFT JOIN logged l USING (hour)
  GROUP BY 1, 2
),
final AS (
  SELECT g.hour_utc, coalesce(u.usual_events, 0) AS usual_events, coalesce(u.usual_accounts, 0) AS usual_accounts,
    coalesce(u.usual_accounts, 0) >= $min_accounts AS usually_active, coalesce(u.weeks_active, 0) AS weeks_active,
    coalesce(u.weeks, 0) AS weeks
  FROM hours g
  LEFT JOIN counts c USING (hour_utc)
  LEFT JOIN usual u ON u.dow = isodow(timezone($tz, g.hour_utc)) AND u.hod = hour(timezone($tz, g.hour_utc))
  WHERE c.n IS NULL
)
SELECT * FROM final ORDER BY hour_utc
