-- question: every in-window segment of a compromised account's sessions, with its verdict and reasons
--           (sessions.csv: a session from one address and one client is one row).
-- params: none
-- reads: scope_segments, scope_accesses
-- order: account_id, segment_start_utc, segment_key
-- assumptions: verdict is the analyst's decision where there is one (rule_verdict keeps the rules'); instants in
--   UTC (iso_utc); patients_reached counts the patients of the segment's reached accesses
--   inside the windows (n_patients counts every patient the segment named); n_refused_logins counts its refused
--   logins (a segment of nothing else is a failed-login burst).
WITH reached AS (
  SELECT segment_key, count(DISTINCT patient_id) AS patients_reached
  FROM scope_accesses WHERE reached AND counted GROUP BY segment_key
),
final AS (
  SELECT s.account_id, s.session_key, s.segment_key, s.segment_no, s.session_segments, s.segment_start,
    iso_utc(s.segment_start) AS segment_start_utc, iso_utc(s.segment_end) AS segment_end_utc,
    s.src_ip, s.user_agent, s.n_events, s.n_refused_logins, s.n_patients,
    coalesce(r.patients_reached, 0) AS patients_reached, s.verdict, s.reasons, s.rule_verdict,
    s.decision_justification, s.decided_by
  FROM scope_segments s LEFT JOIN reached r USING (segment_key)
)
SELECT * EXCLUDE (segment_start) FROM final ORDER BY account_id, segment_start, segment_key
