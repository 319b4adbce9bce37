-- question: which events of the examined period belong to accounts with any signal (the events whose
--           sessions sessions_derive then finds)?
-- params: none
-- reads: discover_events, discover_signals, discover_pivot
-- writes: session_input
-- order: ts
CREATE OR REPLACE TEMP TABLE session_input AS
SELECT * EXCLUDE (in_period) FROM discover_events
WHERE in_period AND account_id IN (SELECT account_id FROM discover_signals UNION SELECT account_id FROM discover_pivot);
