-- question: which accesses to a patient did attacker (and, when counted, undetermined) sessions make
--           inside a breach window, and how far did each go?
-- params: count_undetermined
-- reads: scope_account_events, scope_sessions, incident_windows
-- writes: scope_accesses
-- order: ts, event_key, patient_id
-- assumptions: half-open windows; an outcome 'unknown' counts as reached (when in doubt, the patient is
--              told); levels: listed (search, list) = 1, opened (view, other, create, update, delete) = 2,
--              copied (download, print, export, share) = 3; create/update/delete also set `modified`.
CREATE OR REPLACE TABLE scope_accesses AS
WITH counted AS (
  SELECT account_id, session_key, verdict FROM scope_sessions
  WHERE verdict = 'attacker' OR (verdict = 'undetermined' AND CAST($count_undetermined AS BOOLEAN))
),
final AS (
  SELECT e.ts, e.event_key, e.patient_id, e.account_id, e.session_key, s.verdict, w.window_no,
    e.action, e.category, e.outcome, e.patient_link, e.src_ip, e.source_id, e.source_line,
    e.outcome <> 'failure' AS reached,
    CASE WHEN e.action IN ('search', 'list') THEN 1
         WHEN e.action IN ('download', 'print', 'export', 'share') THEN 3
         ELSE 2 END AS level,
    e.action IN ('create', 'update', 'delete') AS modifies
  FROM scope_account_events e
  JOIN counted s USING (account_id, session_key)
  JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
  WHERE e.patient_id IS NOT NULL
    AND e.action NOT IN ('login', 'login_failed', 'logout')
)
SELECT * FROM final ORDER BY ts, event_key, patient_id;
