-- question: each account's hours (address, client, counts), rebuilt from the events table for a store
--           written before scoping kept them at ingest.
-- params: none
-- reads: events
-- writes: account_hours
-- order: none (a summary read by filters on hour and account)
-- assumptions: run only when account_hours is empty and events is not; one pass over the events, one
--   plain aggregation (it spills to disk under memory_limit; a distinct count of patients would not).
INSERT INTO account_hours
SELECT account_id, date_trunc('hour', ts) AS hour, src_ip, user_agent, count(*) AS event_rows,
       count(patient_id) AS accesses,
       count(patient_id) FILTER (WHERE action IN ('export', 'download', 'print')) AS copies
FROM events
GROUP BY ALL
