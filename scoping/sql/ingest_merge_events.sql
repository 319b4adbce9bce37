-- question: add this ingest's events to the events table, keeping it sorted by time.
-- params: none
-- reads: events, staging_events
-- writes: events (rebuilt, sorted by ts)
-- order: ts (ties in any order: every output and window orders on a total key of its own)
-- assumptions: sorting by ts lets window filters skip row groups (zonemaps).
CREATE OR REPLACE TABLE events_sorted AS
SELECT * FROM (SELECT * FROM events UNION ALL SELECT * FROM staging_events)
ORDER BY ts;
DROP TABLE events;
ALTER TABLE events_sorted RENAME TO events;
