-- question: where does a case keep its recorded runs? (creates the table when missing)
-- params: none
-- reads: nothing
-- writes: case_meta, runs
-- order: not applicable (DDL)
-- assumptions: case_meta holds the case's own random id (made once): an output set names the case it belongs to;
--   one row per run id (the same inputs give the same id; recording again replaces it); the tables of
--   a run are kept in run_<kind>_<table> with its run_id (scoping.runs). recorded_at is the latest recording of a
--   run, first_recorded_at its first (a report states it: recording the same run again changes no output byte);
--   a store written before first_recorded_at existed takes its recorded_at.
CREATE TABLE IF NOT EXISTS runs (
  run_id          VARCHAR PRIMARY KEY,
  kind            VARCHAR,      -- scope | discover
  recorded_at     TIMESTAMPTZ,
  tool_version    VARCHAR,
  incident_sha256 VARCHAR,
  evidence_sha256 VARCHAR,
  record          VARCHAR,      -- JSON: parameters, evidence, SQL digests, mappings, trace
  summary         VARCHAR,      -- JSON: the run's summary.json
  practice_files  VARCHAR,      -- JSON: practice id -> file name
  frame_columns   VARCHAR,      -- JSON: table -> its columns, in order
  first_recorded_at TIMESTAMPTZ -- when a run of this id was first recorded (kept when it is recorded again)
);
ALTER TABLE runs ADD COLUMN IF NOT EXISTS first_recorded_at TIMESTAMPTZ;
UPDATE runs SET first_recorded_at = recorded_at WHERE first_recorded_at IS NULL;
CREATE TABLE IF NOT EXISTS case_meta (
  key   VARCHAR PRIMARY KEY,
  value VARCHAR
);
INSERT OR IGNORE INTO case_meta VALUES ('case_id', 'case-' || left(replace(CAST(uuid() AS VARCHAR), '-', ''), 16));
