-- question: where does this ingest set aside every line it maps (an event's columns, or a quarantine reason)
--           until the duplicates and conflicts are known?
-- params: none
-- reads: events
-- writes: ingest_pending (a temporary table), ingest_canonical (the canonical digests of JSON versions compared)
-- order: not applicable (DDL)
-- assumptions: one row per staged line or run of identical lines (source_line..source_line_end); the patients of
--   an event are a list until they are stored, one event row per patient.
CREATE OR REPLACE TEMP TABLE ingest_pending AS
SELECT * EXCLUDE (patient_id, key_conflict), NULL::VARCHAR[] AS patients, NULL::INTEGER AS file_seq,
       NULL::VARCHAR AS problem, NULL::VARCHAR AS txt, NULL::BLOB AS raw, NULL::BIGINT AS source_line_end
FROM events LIMIT 0;

CREATE OR REPLACE TEMP TABLE ingest_canonical (event_key VARCHAR, digest UBIGINT, canonical UBIGINT);
