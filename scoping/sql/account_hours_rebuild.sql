-- question: each account's hours (address, client, counts), rebuilt from the events table for a store
--           written before scoping kept them at ingest.
-- params: none
-- reads: events
-- writes: account_hours
-- order: hour, account_id, src_ip, user_agent
-- assumptions: run only when account_hours is empty and events is not; one pass over the events.
INSERT INTO account_hours
SELECT account_id, date_trunc('hour', ts) AS hour, src_ip, user_agent, count(*) AS event_rows,
       count(patient_id) AS accesses
FROM events
GROUP BY ALL
ORDER BY hour, account_id, src_ip, user_agent
