-- question: which evidence files does the case rest on, with their hashes, the source definition each was read
--           with, and their line ledger (lines read = loaded + duplicates + conflicts + quarantined)? (reference
--           files replaced by a newer version are left out: the store holds the newer one)
-- params: none
-- reads: evidence
-- order: kind, path, source_id
SELECT source_id, source, kind, path, sha256, bytes, format, mapping_sha256, source_sha256, lines_read,
  events_loaded, accesses_loaded, duplicates, coalesce(conflicts, 0) AS conflicts, quarantined, dst_flagged, status
FROM evidence
WHERE NOT starts_with(status, 'superseded')
ORDER BY kind, path, source_id
