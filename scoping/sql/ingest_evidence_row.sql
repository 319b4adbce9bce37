-- question: register one evidence file with its hash and its line ledger.
-- params: source_id, source, kind, path, sha256, bytes, format, mapping_sha256, header_lines, lines_read, events_loaded, accesses_loaded, duplicates, quarantined, dst_flagged, first_ts, last_ts, status, ingest_run
-- reads: nothing
-- writes: evidence
-- order: not applicable (one row inserted)
INSERT INTO evidence VALUES (
  $source_id, $source, $kind, $path, $sha256, $bytes, $format, $mapping_sha256, $header_lines,
  $lines_read, $events_loaded, $accesses_loaded, $duplicates, $quarantined, $dst_flagged,
  $first_ts, $last_ts, $status, $ingest_run, now()
)
