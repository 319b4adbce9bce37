-- question: where does a case keep its recorded runs? (creates the table when missing)
-- params: none
-- reads: nothing
-- writes: runs
-- order: not applicable (DDL)
-- assumptions: one row per run id (the same inputs give the same id; recording again replaces it); the tables of
--   a run are kept in run_<kind>_<table> with its run_id (scoping.runs).
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
  frame_columns   VARCHAR       -- JSON: table -> its columns, in order
);
