-- question: must account_hours be rebuilt from the events: was the store written before scoping kept them at
--           ingest (events, but no hours), or before it kept them per evidence file (hours without a source_id)?
-- params: none
-- reads: account_hours, events
-- order: one row
SELECT (NOT EXISTS (SELECT 1 FROM account_hours) AND EXISTS (SELECT 1 FROM events))
       OR EXISTS (SELECT 1 FROM account_hours WHERE source_id IS NULL OR refused IS NULL) AS missing
