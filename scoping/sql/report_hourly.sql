-- question: how many patient accesses were logged in each hour around the breach, against the mean of the
--           same hour of the week over the four weeks before the first window?
-- params: from_ts, to_ts, baseline_from, tz
-- reads: events
-- order: hour_utc
-- assumptions: the same hour of the week is matched in local time (tz), so that working hours stay working hours
--   across a daylight-saving change.
WITH around AS (
  SELECT date_trunc('hour', ts) AS hour_utc, count(*) AS accesses
  FROM events
  WHERE ts >= CAST($from_ts AS TIMESTAMPTZ) AND ts < CAST($to_ts AS TIMESTAMPTZ) AND patient_id IS NOT NULL
  GROUP BY 1
),
weekly AS (
  SELECT isodow(timezone($tz, ts)) AS dow, hour(timezone($tz, ts)) AS hod, count(*) / 4.0 AS mean_accesses
  FROM events
  WHERE ts >= CAST($baseline_from AS TIMESTAMPTZ) AND ts < CAST($from_ts AS TIMESTAMPTZ)
    AND patient_id IS NOT NULL
  GROUP BY 1, 2
),
hours AS (
  SELECT unnest(generate_series(date_trunc('hour', CAST($from_ts AS TIMESTAMPTZ)),
                                CAST($to_ts AS TIMESTAMPTZ) - INTERVAL 1 HOUR, INTERVAL 1 HOUR)) AS hour_utc
),
final AS (
  SELECT h.hour_utc, coalesce(a.accesses, 0) AS accesses, coalesce(w.mean_accesses, 0) AS baseline_mean
  FROM hours h
  LEFT JOIN around a USING (hour_utc)
  LEFT JOIN weekly w ON w.dow = isodow(timezone($tz, h.hour_utc)) AND w.hod = hour(timezone($tz, h.hour_utc))
)
SELECT * FROM final ORDER BY hour_utc
