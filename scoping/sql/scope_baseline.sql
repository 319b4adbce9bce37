-- question: which addresses and clients did each compromised account use in its baseline (from the start
--           of the baseline to the first window), without reading the baseline's events?
-- params: accounts, baseline_start, first_full_hour, read_start, window_start
-- reads: account_hours, events, session_input
-- writes: scope_baseline
-- order: account_id, src_ip, user_agent
-- assumptions: the baseline is [baseline_start, window_start), read in three exact pieces: its whole hours
--   up to read_start from account_hours, its first partial hour [baseline_start, first_full_hour) from
--   events (one hour: zonemaps), and [read_start, window_start) from session_input.
CREATE OR REPLACE TEMP TABLE scope_baseline AS
WITH from_hours AS (
  SELECT account_id, src_ip, user_agent FROM account_hours
  WHERE hour >= CAST($first_full_hour AS TIMESTAMPTZ) AND hour < CAST($read_start AS TIMESTAMPTZ)
    AND list_contains($accounts, account_id)
),
from_first_hour AS (
  SELECT account_id, src_ip, user_agent FROM events
  WHERE ts >= CAST($baseline_start AS TIMESTAMPTZ) AND ts < CAST($first_full_hour AS TIMESTAMPTZ)
    AND list_contains($accounts, account_id)
),
from_read AS (
  SELECT account_id, src_ip, user_agent FROM session_input WHERE ts < CAST($window_start AS TIMESTAMPTZ)
),
final AS (
  SELECT DISTINCT account_id, src_ip, user_agent
  FROM (SELECT * FROM from_hours UNION ALL SELECT * FROM from_first_hour UNION ALL SELECT * FROM from_read)
)
SELECT * FROM final ORDER BY account_id, src_ip, user_agent
