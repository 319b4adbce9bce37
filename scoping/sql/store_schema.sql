-- question: what tables does a case store hold? (creates them when missing)
-- params: none
-- reads: nothing
-- writes: account_hours, accounts, care, duplicates, events, evidence, ingest_runs, mappings, patients, quarantine
-- order: not applicable (DDL)
-- assumptions: every time is TIMESTAMPTZ in UTC; events are clustered by ts (each ingested batch sorted).
CREATE TABLE IF NOT EXISTS evidence (
  source_id       VARCHAR PRIMARY KEY,   -- first 16 hex digits of the file's SHA-256
  source          VARCHAR,               -- the [sources.NAME] or [reference.KIND] it was read for
  kind            VARCHAR,               -- log | reference
  path            VARCHAR,               -- relative to the case folder when inside it
  sha256          VARCHAR,
  bytes           BIGINT,
  format          VARCHAR,
  mapping_sha256  VARCHAR,
  header_lines    BIGINT,
  lines_read      BIGINT,                -- data lines: loaded + duplicates + quarantined
  events_loaded   BIGINT,
  accesses_loaded BIGINT,
  duplicates      BIGINT,
  quarantined     BIGINT,
  dst_flagged     BIGINT,
  first_ts        TIMESTAMPTZ,
  last_ts         TIMESTAMPTZ,
  status          VARCHAR,
  ingest_run      BIGINT,
  ingested_at     TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS quarantine (
  source_id   VARCHAR,
  source_line BIGINT,
  raw_text    VARCHAR,
  reason      VARCHAR
);
CREATE TABLE IF NOT EXISTS duplicates (
  source_id         VARCHAR,
  source_line       BIGINT,
  event_key         VARCHAR,
  first_source_id   VARCHAR,
  first_source_line BIGINT
);
CREATE TABLE IF NOT EXISTS events (
  event_key     VARCHAR,
  ts            TIMESTAMPTZ,
  ts_raw        VARCHAR,
  ts_flag       VARCHAR,
  account_id    VARCHAR,
  session_id    VARCHAR,
  src_ip        VARCHAR,
  user_agent    VARCHAR,
  action        VARCHAR,
  action_raw    VARCHAR,
  category      VARCHAR,
  patient_id    VARCHAR,
  patient_link  VARCHAR,
  outcome       VARCHAR,
  resource_type VARCHAR,
  resource_id   VARCHAR,
  source_id     VARCHAR,
  source_line   BIGINT
);
CREATE TABLE IF NOT EXISTS mappings (
  mapping_sha256 VARCHAR PRIMARY KEY,
  source         VARCHAR,
  sql            VARCHAR,
  params         VARCHAR
);
CREATE TABLE IF NOT EXISTS accounts (
  account_id   VARCHAR,
  practice_id  VARCHAR,
  role         VARCHAR,
  active_from  TIMESTAMPTZ,
  active_until TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS patients (
  patient_id  VARCHAR,
  practice_id VARCHAR
);
-- What each account did, hour by hour: which address and client, how many event rows, how many naming a
-- patient, how many of those were exports, downloads or prints. Kept at ingest so that scope reads an account's baseline here, not in the events table.
CREATE TABLE IF NOT EXISTS account_hours (
  account_id VARCHAR,
  hour       TIMESTAMPTZ,
  src_ip     VARCHAR,
  user_agent VARCHAR,
  event_rows BIGINT,
  accesses   BIGINT,
  copies     BIGINT
);
CREATE TABLE IF NOT EXISTS care (
  patient_id  VARCHAR,
  practice_id VARCHAR,
  account_id  VARCHAR,
  kind        VARCHAR,
  start_ts    TIMESTAMPTZ,
  end_ts      TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS ingest_runs (
  ingest_run  BIGINT,
  started_at  TIMESTAMPTZ,
  files       BIGINT,
  skipped     BIGINT
);
