-- question: every in-window session of a compromised account, with its verdict and reasons (sessions.csv).
-- params: none
-- reads: scope_sessions
-- order: account_id, session_start_utc, session_key
SELECT account_id, session_key,
  iso_utc(session_start) AS session_start_utc,
  iso_utc(session_end) AS session_end_utc,
  src_ips, user_agents, n_events, n_patients, verdict, reasons
FROM scope_sessions
ORDER BY account_id, session_start, session_key
