-- question: is every scoped access inside a breach window and made by a compromised account?
-- params: none
-- reads: scope_accesses, incident_windows, incident_accounts
-- order: ts, event_key
-- assumptions: returns offending accesses; an empty result means the invariant holds.
SELECT a.ts, a.event_key, a.account_id
FROM scope_accesses a
WHERE NOT EXISTS (SELECT 1 FROM incident_windows w WHERE a.ts >= w.start_utc AND a.ts < w.end_utc)
   OR a.account_id NOT IN (SELECT account_id FROM incident_accounts)
ORDER BY a.ts, a.event_key
