-- question: what tables does a case store hold? (creates them when missing)
-- params: none
-- reads: nothing
-- writes: account_hours, accounts, care, conflicts, duplicates, events, evidence, ingest_runs, mappings, patients,
--         quarantine
-- order: not applicable (DDL)
-- assumptions: every time is TIMESTAMPTZ in UTC; events are clustered by ts (each ingested batch sorted). A store
--   written by an earlier version gains the newer columns at the end (ALTER TABLE ... ADD COLUMN IF NOT EXISTS,
--   NULL in its rows); the next ingest re-reads its files, whose recorded source_sha256 is then NULL.
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
  lines_read      BIGINT,                -- data lines: loaded + duplicates + conflicts + quarantined
  events_loaded   BIGINT,
  accesses_loaded BIGINT,
  duplicates      BIGINT,
  quarantined     BIGINT,
  dst_flagged     BIGINT,
  first_ts        TIMESTAMPTZ,
  last_ts         TIMESTAMPTZ,
  status          VARCHAR,
  ingest_run      BIGINT,
  ingested_at     TIMESTAMPTZ,
  conflicts       BIGINT,                -- lines with the key of an earlier line and other content (kept)
  source_sha256   VARCHAR                -- digest of the [sources.NAME] definition the file was read with
);
-- A quarantine or duplicates row stands for one line, or for a run of identical consecutive lines
-- source_line..source_line_end (source_line_end NULL for a single line).
CREATE TABLE IF NOT EXISTS quarantine (
  source_id       VARCHAR,
  source_line     BIGINT,
  raw_text        VARCHAR,
  reason          VARCHAR,
  source_line_end BIGINT
);
CREATE TABLE IF NOT EXISTS duplicates (
  source_id         VARCHAR,
  source_line       BIGINT,
  event_key         VARCHAR,
  first_source_id   VARCHAR,
  first_source_line BIGINT,
  source_line_end   BIGINT
);
-- A line whose key was already logged with other content: kept as an event under stored_key
-- (event_key || '#' || 16 hex digits of its content digest); the first version keeps the key.
CREATE TABLE IF NOT EXISTS conflicts (
  source_id         VARCHAR,
  source_line       BIGINT,
  event_key         VARCHAR,   -- the key as logged
  stored_key        VARCHAR,   -- the key of the event stored for this line
  first_source_id   VARCHAR,   -- where the first version (the one that keeps the key) was read
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
  source_line   BIGINT,
  src_ip_raw    VARCHAR,    -- the address as logged (src_ip is normalised: no port, IPv4-mapped IPv6 unwrapped)
  record_flags  VARCHAR,    -- what was odd about the record (a repeated JSON key, ...)
  key_conflict  BOOLEAN,    -- another line has this line's key with other content (see conflicts)
  content_digest UBIGINT    -- the first 64 bits of the SHA-256 of the normalised record: same key and same
                            -- digest = duplicate (printf('%016x', content_digest) shows them as hex)
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
-- What each account did, hour by hour: which address and client, how many event rows (how many refused), how
-- many naming a patient, how many of those were exports, downloads or prints. Kept at ingest so that scope reads an account's baseline here, not in the events table.
CREATE TABLE IF NOT EXISTS account_hours (
  account_id VARCHAR,
  hour       TIMESTAMPTZ,
  src_ip     VARCHAR,
  user_agent VARCHAR,
  event_rows BIGINT,
  accesses   BIGINT,
  copies     BIGINT,
  source_id  VARCHAR,  -- the evidence file the events came from (a re-read file's hours are replaced)
  refused    BIGINT    -- event rows whose outcome is failure (a refused request says nothing of the holder's habits)
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
ALTER TABLE evidence ADD COLUMN IF NOT EXISTS conflicts BIGINT;
ALTER TABLE evidence ADD COLUMN IF NOT EXISTS source_sha256 VARCHAR;
-- the case settings a log file was read with, besides its source's definition ({"max_line_bytes": ...})
ALTER TABLE evidence ADD COLUMN IF NOT EXISTS read_settings VARCHAR;
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS source_line_end BIGINT;
ALTER TABLE duplicates ADD COLUMN IF NOT EXISTS source_line_end BIGINT;
ALTER TABLE events ADD COLUMN IF NOT EXISTS src_ip_raw VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS record_flags VARCHAR;
ALTER TABLE events ADD COLUMN IF NOT EXISTS key_conflict BOOLEAN;
ALTER TABLE events ADD COLUMN IF NOT EXISTS content_digest UBIGINT;
ALTER TABLE account_hours ADD COLUMN IF NOT EXISTS source_id VARCHAR;
ALTER TABLE account_hours ADD COLUMN IF NOT EXISTS refused BIGINT;
