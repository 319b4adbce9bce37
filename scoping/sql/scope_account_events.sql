-- question: what did each compromised account do from a day before the first window to the end of the last
--           window? (the events whose sessions sessions_derive then finds)
-- params: read_start, scope_end
-- reads: events, scope_accounts
-- writes: session_input
-- order: ts (the events table's order)
-- assumptions: read_start is the hour of the first window's start less a day (never before the baseline
--   starts): the day lets a session begun before the window keep its first events. The rest of the
--   baseline is read from account_hours (scope_baseline), so this reads the windows, not the whole table.
--   Spark runs this file too (engine = "spark"): it keeps to the portable subset of scoping/spark_sql.py.
CREATE OR REPLACE TEMP TABLE session_input AS
SELECT * FROM events
WHERE ts >= CAST($read_start AS TIMESTAMPTZ) AND ts < CAST($scope_end AS TIMESTAMPTZ)
  AND account_id IN (SELECT account_id FROM scope_accounts);
