-- question: what did each compromised account do from the start of its baseline to the end of the last
--           window? (the events whose sessions sessions_derive then finds; the only pass over events)
-- params: accounts, baseline_start, scope_end
-- reads: events
-- writes: session_input
-- order: ts (the events table's order)
-- assumptions: the baseline starts baseline_days before the first window (the incident's parameter).
CREATE OR REPLACE TEMP TABLE session_input AS
SELECT * FROM events
WHERE ts >= CAST($baseline_start AS TIMESTAMPTZ) AND ts < CAST($scope_end AS TIMESTAMPTZ)
  AND list_contains($accounts, account_id);
