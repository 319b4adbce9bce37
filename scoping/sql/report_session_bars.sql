-- question: when did each in-window session of each compromised account start and end, and what was
--           its verdict? (the account timeline figure)
-- params: none
-- reads: scope_sessions
-- order: account_id, session_start, session_key
SELECT account_id, session_key, session_start, session_end, verdict, n_patients
FROM scope_sessions
ORDER BY account_id, session_start, session_key
