-- question: the compromised accounts' events with their sessions, kept in the store for the report and for
--           anyone re-checking an attribution.
-- params: none
-- reads: sessioned_events
-- writes: scope_account_events
-- order: account_id, ts, event_key, patient_id
CREATE OR REPLACE TABLE scope_account_events AS
SELECT * FROM sessioned_events ORDER BY account_id, ts, event_key, patient_id NULLS FIRST;
