-- question: back to the store's own tables: drop the views over the lake (before an ingest writes the store, or
--           before the lake is written from it)
-- params: none
-- reads: nothing
-- writes: drops the temporary views lake_views.sql made (the store's tables are untouched)
-- order: not applicable (DDL)
DROP VIEW IF EXISTS temp.main.events;
DROP VIEW IF EXISTS temp.main.account_hours;
DROP VIEW IF EXISTS temp.main.evidence;
DROP VIEW IF EXISTS temp.main.quarantine;
DROP VIEW IF EXISTS temp.main.duplicates;
DROP VIEW IF EXISTS temp.main.conflicts;
DROP VIEW IF EXISTS temp.main.mappings;
DROP VIEW IF EXISTS temp.main.accounts;
DROP VIEW IF EXISTS temp.main.patients;
DROP VIEW IF EXISTS temp.main.care;
DROP VIEW IF EXISTS temp.main.ingest_runs;
