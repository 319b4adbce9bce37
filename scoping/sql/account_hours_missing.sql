-- question: was this store written before scoping kept account_hours at ingest (events, but no hours)?
-- params: none
-- reads: account_hours, events
-- order: one row
SELECT NOT EXISTS (SELECT 1 FROM account_hours) AND EXISTS (SELECT 1 FROM events) AS missing
