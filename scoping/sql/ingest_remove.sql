-- question: remove everything the store holds from evidence files that this ingest reads again (their events,
--           quarantined lines, duplicates, conflicts, hours and registration), remembering the lines of other
--           files whose conflict flag may change once they are gone.
-- params: source_ids
-- reads: conflicts
-- writes: ingest_unflag, events, quarantine, duplicates, conflicts, account_hours, evidence
-- order: not applicable (deletes)
-- assumptions: runs inside the ingest's transaction, before the files are read again.
CREATE OR REPLACE TEMP TABLE ingest_unflag AS
SELECT DISTINCT first_source_id AS source_id, first_source_line AS source_line
FROM conflicts
WHERE list_contains($source_ids, source_id) AND NOT list_contains($source_ids, first_source_id);

DELETE FROM events WHERE list_contains($source_ids, source_id);
DELETE FROM quarantine WHERE list_contains($source_ids, source_id);
DELETE FROM duplicates WHERE list_contains($source_ids, source_id);
DELETE FROM conflicts WHERE list_contains($source_ids, source_id);
DELETE FROM account_hours WHERE list_contains($source_ids, source_id);
DELETE FROM evidence WHERE list_contains($source_ids, source_id);
