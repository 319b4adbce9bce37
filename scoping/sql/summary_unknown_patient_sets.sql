-- question: how many searches, lists or exports by counted segments inside a window name no patient,
--           so that whose data they returned is not in the logs (exposure possible, patient set unknown)?
-- params: count_undetermined
-- reads: scope_account_events, scope_segments, incident_windows
-- order: action
SELECT e.action, count(DISTINCT e.event_key) AS events
FROM scope_account_events e
JOIN scope_segments s USING (account_id, segment_key)
JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
WHERE e.patient_id IS NULL AND e.action IN ('search', 'list', 'export', 'download', 'print', 'view')
  AND (s.verdict = 'attacker' OR (s.verdict = 'undetermined' AND CAST($count_undetermined AS BOOLEAN)))
  AND e.outcome <> 'failure'
GROUP BY e.action
ORDER BY e.action
