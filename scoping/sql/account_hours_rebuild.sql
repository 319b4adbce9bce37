-- question: each account's hours per evidence file (address, client, counts), rebuilt from the events table for
--           a store written before scoping kept them at ingest, or kept them without their evidence file.
-- params: none
-- reads: events
-- writes: account_hours
-- order: none (a summary read by filters on hour and account)
-- assumptions: run only when account_hours_missing says so; one pass over the events, one plain aggregation (it
--   spills to disk under memory_limit; a distinct count of patients would not).
DELETE FROM account_hours;

INSERT INTO account_hours BY NAME
SELECT account_id, date_trunc('hour', ts) AS hour, src_ip, user_agent, count(*) AS event_rows,
       count(patient_id) AS accesses,
       count(patient_id) FILTER (WHERE action IN ('export', 'download', 'print')) AS copies, source_id,
       count(*) FILTER (WHERE outcome = 'failure') AS refused
FROM events
GROUP BY ALL
