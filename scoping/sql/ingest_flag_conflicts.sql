-- question: which stored lines became one of several versions of their key with this ingest (flag them), and which
--           were flagged only because of a file read again whose version is gone (clear them)?
-- params: none
-- reads: ingest_flag_stored, ingest_unflag, conflicts
-- writes: events
-- order: not applicable (updates)
-- assumptions: run after ingest_store, and only when one of the two lists is not empty (each update reads the
--   events table's source_id and source_line).
UPDATE events SET key_conflict = true
FROM ingest_flag_stored f
WHERE events.source_id = f.source_id AND events.source_line = f.source_line AND NOT coalesce(events.key_conflict, false);

UPDATE events SET key_conflict = false
FROM ingest_unflag u
WHERE events.source_id = u.source_id AND events.source_line = u.source_line AND events.key_conflict
  AND NOT EXISTS (SELECT 1 FROM conflicts c WHERE c.first_source_id = u.source_id AND c.first_source_line = u.source_line)
