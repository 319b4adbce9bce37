-- question: which distinct addresses and clients did the compromised accounts use from the start of the
--           baseline to the end of the last window? (matched against the indicators in Python)
-- params: accounts, baseline_start, scope_end
-- reads: events
-- order: kind, value
SELECT DISTINCT 'ip' AS kind, src_ip AS value FROM events
WHERE ts >= CAST($baseline_start AS TIMESTAMPTZ) AND ts < CAST($scope_end AS TIMESTAMPTZ)
  AND list_contains($accounts, account_id) AND src_ip IS NOT NULL
UNION
SELECT DISTINCT 'client', user_agent FROM events
WHERE ts >= CAST($baseline_start AS TIMESTAMPTZ) AND ts < CAST($scope_end AS TIMESTAMPTZ)
  AND list_contains($accounts, account_id) AND user_agent IS NOT NULL
ORDER BY kind, value
