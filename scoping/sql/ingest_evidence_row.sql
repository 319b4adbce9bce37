-- question: register one evidence file with its hash, the source definition and case settings it was read with
--           and its line ledger.
-- params: source_id, source, kind, path, sha256, bytes, format, mapping_sha256, header_lines, lines_read, events_loaded, accesses_loaded, duplicates, conflicts, quarantined, dst_flagged, first_ts, last_ts, status, ingest_run, source_sha256, read_settings
-- reads: nothing
-- writes: evidence
-- order: not applicable (one row inserted)
INSERT INTO evidence BY NAME
SELECT $source_id AS source_id, $source AS source, $kind AS kind, $path AS path, $sha256 AS sha256,
       $bytes AS bytes, $format AS format, $mapping_sha256 AS mapping_sha256, $header_lines AS header_lines,
       $lines_read AS lines_read, $events_loaded AS events_loaded, $accesses_loaded AS accesses_loaded,
       $duplicates AS duplicates, $conflicts AS conflicts, $quarantined AS quarantined, $dst_flagged AS dst_flagged,
       CAST($first_ts AS TIMESTAMPTZ) AS first_ts, CAST($last_ts AS TIMESTAMPTZ) AS last_ts, $status AS status,
       $ingest_run AS ingest_run, now() AS ingested_at, $source_sha256 AS source_sha256,
       $read_settings AS read_settings
