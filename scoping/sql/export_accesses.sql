-- question: every access the counted segments made to a patient inside the windows, reached or refused, with the
--           evidence line it comes from (accesses.csv; the per-patient detail of the notification kits).
-- params: none
-- reads: scope_accesses, patients, evidence
-- order: practice_id, patient_id, ts, event_key
-- assumptions: one row per access and controller (a patient of two practices appears under each); instants in UTC
--   (iso_utc); source_path and source_line point at the evidence line.
WITH final AS (
  SELECT c.practice_id, a.patient_id, a.ts, iso_utc(a.ts) AS ts_utc, a.account_id, a.session_key, a.segment_key,
    a.verdict, a.action, a.category, a.outcome, a.reached, a.modifies, a.resource_type, a.resource_id, a.src_ip,
    a.user_agent, a.patient_link, a.event_key, v.path AS source_path, a.source_line
  FROM scope_accesses a
  LEFT JOIN patients c USING (patient_id)
  LEFT JOIN evidence v USING (source_id)
  WHERE a.counted
)
SELECT * EXCLUDE (ts) FROM final ORDER BY practice_id NULLS FIRST, patient_id, ts, event_key
