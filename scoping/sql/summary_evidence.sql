-- question: which evidence files were read, with their hashes and line ledger?
-- params: none
-- reads: evidence
-- order: kind, path, source_id
SELECT source_id, source, kind, path, sha256, bytes, format, mapping_sha256, lines_read, events_loaded,
  accesses_loaded, duplicates, quarantined, dst_flagged, status
FROM evidence
ORDER BY kind, path, source_id
