-- question: the case's canonical tables as a Parquet lake: events partitioned by day (events/day=YYYY-MM-DD/),
--           sorted by time, beside the ledger (evidence, quarantine, duplicates, conflicts), the mappings, the
--           reference tables and the accounts' hours, each table in a folder of its own
-- params: events_path, account_hours_path, evidence_path, quarantine_path, duplicates_path, conflicts_path,
--         mappings_path, accounts_path, patients_path, care_path, ingest_runs_path
-- reads: events, account_hours, evidence, quarantine, duplicates, conflicts, mappings, accounts, patients, care,
--        ingest_runs
-- writes: the lake's Parquet files (into a new folder that lake.py swaps in whole)
-- order: events by ts, event_key, patient_id (and the day folder of ts in UTC); every other table by its key
-- assumptions: a fixed schema any engine reads alike: instants as UTC microsecond timestamps, whole numbers as
--   BIGINT (never HUGEINT), the 64-bit content digest as 16 lower-case hex digits (content_digest_hex), text as
--   validated UTF-8. The columns are named one by one, so a store of another version writes the same schema.
COPY (
  SELECT event_key, ts, ts_raw, ts_flag, account_id, session_id, src_ip, user_agent, action, action_raw, category,
    patient_id, patient_link, outcome, resource_type, resource_id, source_id, CAST(source_line AS BIGINT) AS source_line,
    src_ip_raw, record_flags, key_conflict, lower(printf('%016x', content_digest)) AS content_digest_hex,
    strftime(ts, '%Y-%m-%d') AS day
  FROM events
  ORDER BY ts, event_key, patient_id NULLS FIRST
) TO $events_path (FORMAT parquet, PARTITION_BY (day), ROW_GROUP_SIZE 500000);

COPY (
  SELECT account_id, hour, src_ip, user_agent, CAST(event_rows AS BIGINT) AS event_rows,
    CAST(accesses AS BIGINT) AS accesses, CAST(copies AS BIGINT) AS copies, source_id,
    CAST(refused AS BIGINT) AS refused
  FROM account_hours
  ORDER BY hour, account_id, source_id, src_ip NULLS FIRST, user_agent NULLS FIRST
) TO $account_hours_path (FORMAT parquet);

COPY (SELECT * FROM evidence ORDER BY source_id) TO $evidence_path (FORMAT parquet);

COPY (SELECT * FROM quarantine ORDER BY source_id, source_line) TO $quarantine_path (FORMAT parquet);

COPY (SELECT * FROM duplicates ORDER BY source_id, source_line) TO $duplicates_path (FORMAT parquet);

COPY (SELECT * FROM conflicts ORDER BY source_id, source_line) TO $conflicts_path (FORMAT parquet);

COPY (SELECT * FROM mappings ORDER BY mapping_sha256) TO $mappings_path (FORMAT parquet);

COPY (SELECT * FROM accounts ORDER BY account_id, practice_id) TO $accounts_path (FORMAT parquet);

COPY (SELECT * FROM patients ORDER BY patient_id, practice_id) TO $patients_path (FORMAT parquet);

COPY (SELECT * FROM care ORDER BY patient_id, practice_id, account_id, start_ts) TO $care_path (FORMAT parquet);

COPY (SELECT * FROM ingest_runs ORDER BY ingest_run) TO $ingest_runs_path (FORMAT parquet);
