-- question: which accounts look compromised, ranked by score, with every reason, the first and last
--           suspicious activity and how many patients they touched in the period?
-- params: none
-- reads: discover_signals, discover_pivot, discover_touched, accounts
-- order: score DESC, account_id
WITH s AS (SELECT * FROM discover_signals UNION ALL SELECT * FROM discover_pivot),
touched AS (SELECT * FROM discover_touched),
final AS (
  SELECT s.account_id, a.practice_id, a.role, sum(s.points) AS score,
    string_agg(s.signal, ', ' ORDER BY s.points DESC, s.signal) AS signals,
    string_agg(s.reason, '; ' ORDER BY s.points DESC, s.signal) AS reasons,
    iso_utc(min(s.first_ts)) AS first_suspicious_utc,
    iso_utc(max(s.last_ts)) AS last_suspicious_utc,
    coalesce(t.patients_touched, 0) AS patients_touched,
    coalesce(t.patients_not_own, 0) AS patients_not_own
  FROM s LEFT JOIN accounts a USING (account_id) LEFT JOIN touched t USING (account_id)
  GROUP BY s.account_id, a.practice_id, a.role, t.patients_touched, t.patients_not_own
)
SELECT * FROM final ORDER BY score DESC, account_id
