-- question: the canonical tables of a case attached to a Parquet lake, as views every stage reads in place of the
--           store's tables (same names, same columns, same types)
-- params: events_files, account_hours_files, evidence_files, quarantine_files, duplicates_files, conflicts_files,
--         mappings_files, accounts_files, patients_files, care_files, ingest_runs_files
-- reads: the lake's Parquet files (globs lake.py builds: events/day=*/*.parquet, <table>/*.parquet)
-- writes: temporary views events, account_hours, evidence, quarantine, duplicates, conflicts, mappings, accounts,
--         patients, care, ingest_runs (they hide the store's tables of the same names for this connection only)
-- order: not applicable (views)
-- assumptions: the lake was written by lake_write.sql (or by the Spark engine to the same schema); the views read
--   the files at each query, so a lake swapped in whole is seen by the next statement. The day folders are not read
--   as a column: ts says the day. The content digest comes back as the store types it (UBIGINT).
SET VARIABLE scoping_lake_events = $events_files;
SET VARIABLE scoping_lake_account_hours = $account_hours_files;
SET VARIABLE scoping_lake_evidence = $evidence_files;
SET VARIABLE scoping_lake_quarantine = $quarantine_files;
SET VARIABLE scoping_lake_duplicates = $duplicates_files;
SET VARIABLE scoping_lake_conflicts = $conflicts_files;
SET VARIABLE scoping_lake_mappings = $mappings_files;
SET VARIABLE scoping_lake_accounts = $accounts_files;
SET VARIABLE scoping_lake_patients = $patients_files;
SET VARIABLE scoping_lake_care = $care_files;
SET VARIABLE scoping_lake_ingest_runs = $ingest_runs_files;

CREATE OR REPLACE TEMP VIEW events AS
SELECT event_key, ts, ts_raw, ts_flag, account_id, session_id, src_ip, user_agent, action, action_raw, category,
  patient_id, patient_link, outcome, resource_type, resource_id, source_id, source_line, src_ip_raw, record_flags,
  key_conflict, CAST('0x' || content_digest_hex AS UBIGINT) AS content_digest
FROM read_parquet(getvariable('scoping_lake_events'), hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW account_hours AS
SELECT account_id, hour, src_ip, user_agent, event_rows, accesses, copies, source_id, refused
FROM read_parquet(getvariable('scoping_lake_account_hours'), hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW evidence AS
SELECT * FROM read_parquet(getvariable('scoping_lake_evidence'), hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW quarantine AS
SELECT * FROM read_parquet(getvariable('scoping_lake_quarantine'), hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW duplicates AS
SELECT * FROM read_parquet(getvariable('scoping_lake_duplicates'), hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW conflicts AS
SELECT * FROM read_parquet(getvariable('scoping_lake_conflicts'), hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW mappings AS
SELECT * FROM read_parquet(getvariable('scoping_lake_mappings'), hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW accounts AS
SELECT * FROM read_parquet(getvariable('scoping_lake_accounts'), hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW patients AS
SELECT * FROM read_parquet(getvariable('scoping_lake_patients'), hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW care AS
SELECT * FROM read_parquet(getvariable('scoping_lake_care'), hive_partitioning = false);

CREATE OR REPLACE TEMP VIEW ingest_runs AS
SELECT * FROM read_parquet(getvariable('scoping_lake_ingest_runs'), hive_partitioning = false);
