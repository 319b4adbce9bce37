-- question: which log sessions of the compromised accounts, active inside a window, had begun before the events
--           read (a stolen session cookie can live for days)? Their earlier events are read too, so that each such
--           session is judged whole, and kept out of the account's baseline.
-- params: accounts, baseline_start, read_start, first_window_start
-- reads: session_input, events
-- writes: session_input
-- order: not applicable (appends to session_input)
-- assumptions: a log session whose first event read is in the first hour read may have begun earlier; its events
--   from the start of the baseline are appended (the other sessions need no look back: their first event read is
--   their first event). Derived sessions end at a gap of 30 minutes, so none spans the day read before the window.
INSERT INTO session_input
WITH active AS (
  SELECT account_id, session_id, min(ts) AS first_read
  FROM session_input
  WHERE session_id IS NOT NULL
  GROUP BY account_id, session_id
  HAVING max(ts) >= CAST($first_window_start AS TIMESTAMPTZ)
     AND min(ts) < CAST($read_start AS TIMESTAMPTZ) + INTERVAL 1 HOUR
),
final AS (
  SELECT e.*
  FROM events e
  SEMI JOIN active a ON a.account_id = e.account_id AND a.session_id = e.session_id
  WHERE e.ts >= CAST($baseline_start AS TIMESTAMPTZ) AND e.ts < CAST($read_start AS TIMESTAMPTZ)
    AND list_contains($accounts, e.account_id)
)
SELECT * FROM final;
