-- question: how many events did each source log in each hour around the breach (from from_ts to to_ts)? An hour
--           with none is a gap: absence of evidence there is not evidence of absence.
-- params: from_ts, to_ts
-- reads: events, evidence
-- order: source, hour_utc
-- assumptions: hours are UTC clock hours; every hour of the range is listed for every source, 0 when it logged
--   nothing.
WITH counts AS (
  SELECT v.source, date_trunc('hour', e.ts) AS hour_utc, count(*) AS events
  FROM events e JOIN evidence v USING (source_id)
  WHERE e.ts >= CAST($from_ts AS TIMESTAMPTZ) AND e.ts < CAST($to_ts AS TIMESTAMPTZ)
  GROUP BY ALL
),
sources AS (SELECT DISTINCT source FROM evidence WHERE kind = 'log'),
hours AS (
  SELECT unnest(generate_series(date_trunc('hour', CAST($from_ts AS TIMESTAMPTZ)),
                                CAST($to_ts AS TIMESTAMPTZ) - INTERVAL 1 MICROSECOND, INTERVAL 1 HOUR)) AS hour_utc
),
final AS (
  SELECT s.source, h.hour_utc, coalesce(c.events, 0) AS events
  FROM sources s CROSS JOIN hours h LEFT JOIN counts c USING (source, hour_utc)
)
SELECT * FROM final ORDER BY source, hour_utc
