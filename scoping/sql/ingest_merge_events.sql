-- question: add this ingest's events to the events table, keeping it sorted by time.
-- params: none
-- reads: events, staging_events
-- writes: events (rebuilt, sorted by ts)
-- order: ts, event_key, patient_id (a total order on the events table)
-- assumptions: sorting by ts lets window filters skip row groups (zonemaps).
CREATE OR REPLACE TABLE events_sorted AS
SELECT * FROM (SELECT * FROM events UNION ALL SELECT * FROM staging_events)
ORDER BY ts, event_key, patient_id NULLS FIRST;
DROP TABLE events;
ALTER TABLE events_sorted RENAME TO events;
