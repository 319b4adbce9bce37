-- question: which distinct addresses and clients did the compromised accounts use from the start of the
--           baseline to the end of the last window? (matched against the indicators in Python)
-- params: none
-- reads: session_input
-- order: kind, value
SELECT DISTINCT 'ip' AS kind, src_ip AS value FROM session_input WHERE src_ip IS NOT NULL
UNION
SELECT DISTINCT 'client', user_agent FROM session_input WHERE user_agent IS NOT NULL
ORDER BY kind, value
