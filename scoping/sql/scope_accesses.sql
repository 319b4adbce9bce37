-- question: which accesses to a patient did attacker and undetermined segments make inside a breach window, how
--           far did each go, and does it count (attacker segments always; undetermined ones when counted)?
-- params: count_undetermined
-- reads: scope_account_events, scope_segments, incident_windows, action_vocabulary
-- writes: scope_accesses
-- order: ts, event_key, patient_id
-- assumptions: only `counted` accesses make the lists; the others are kept to say what excluding undetermined
--   segments left out. Half-open windows; an outcome 'unknown' counts as reached (when in doubt, the patient is told).
--   The exposure of an access comes from action_vocabulary (scoping.schema): listed (search, list) < opened (view,
--   other, create, update, delete) < copied (download, print, export, share); a list of patients shown
--   (category patient_list) is at most listed unless it was copied; create, update and delete also set modifies,
--   except on a list of patients (changing a saved list is not changing a patient's record).
CREATE OR REPLACE TABLE scope_accesses AS
WITH suspect AS (
  SELECT account_id, segment_key, verdict FROM scope_segments WHERE verdict IN ('attacker', 'undetermined')
),
final AS (
  SELECT e.ts, e.event_key, e.patient_id, e.account_id, e.session_key, e.segment_key, s.verdict, w.window_no,
    e.action, e.category, e.outcome, e.patient_link, e.src_ip, e.user_agent, e.resource_type, e.resource_id,
    e.source_id, e.source_line,
    e.outcome <> 'failure' AS reached,
    s.verdict = 'attacker' OR CAST($count_undetermined AS BOOLEAN) AS counted,
    CASE WHEN v.exposure <> 'copied' AND e.category = 'patient_list' THEN 1 ELSE v.level END AS level,
    v.modifies AND e.category IS DISTINCT FROM 'patient_list' AS modifies
  FROM scope_account_events e
  JOIN suspect s USING (account_id, segment_key)
  JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
  JOIN action_vocabulary v USING (action)
  WHERE e.patient_id IS NOT NULL
    AND NOT v.authentication
)
SELECT * FROM final ORDER BY ts, event_key, patient_id;
