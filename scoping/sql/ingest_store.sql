-- question: store this ingest's quarantined lines (with their reason), its events (one row per patient touched,
--           conflicting versions under their own key), each account's hours per evidence file (address, client,
--           counts), its duplicates (with the line each one repeats) and its conflicts (with the key's first
--           version).
-- params: none
-- reads: ingest_pending, ingest_kept, ingest_repeats
-- writes: quarantine, events, account_hours, duplicates, conflicts
-- order: events are appended in the order they were set aside (each batch by ts), so clustered by time,
--        quarantine, duplicates and conflicts by file, then line.
-- assumptions: an event naming no patient is stored once with patient_id NULL. A staged run of identical lines
--   (source_line..source_line_end) whose first line is kept is followed by one duplicates row for the rest of
--   the run; a quarantined run is one quarantine row.
INSERT INTO quarantine BY NAME
SELECT source_id, source_line,
       left(coalesce(txt, CAST(raw AS VARCHAR)), 2048) AS raw_text,
       problem AS reason, source_line_end
FROM ingest_pending
WHERE problem IS NOT NULL
ORDER BY file_seq, source_line;

INSERT INTO events BY NAME
SELECT k.event_key, k.ts, k.ts_raw, k.ts_flag, k.account_id, k.session_id, k.src_ip, k.user_agent, k.action,
       k.action_raw, k.category, unnest(k.patients) AS patient_id, k.patient_link, k.outcome, k.resource_type,
       k.resource_id, k.source_id, k.source_line, k.src_ip_raw, k.record_flags, k.key_conflict, k.content_digest
FROM ingest_kept k;

INSERT INTO account_hours BY NAME
SELECT account_id, date_trunc('hour', ts) AS hour, src_ip, user_agent, count(*) AS event_rows,
       count(patient_id) AS accesses,
       count(patient_id) FILTER (WHERE action IN ('export', 'download', 'print')) AS copies, source_id,
       count(*) FILTER (WHERE outcome = 'failure') AS refused
FROM (SELECT account_id, ts, src_ip, user_agent, action, outcome, source_id, unnest(patients) AS patient_id
      FROM ingest_kept)
GROUP BY ALL;

INSERT INTO duplicates BY NAME
WITH repeated AS (
  SELECT source_id, source_line, event_key, first_source_id, first_source_line, source_line_end, file_seq
  FROM ingest_repeats WHERE kind = 'duplicate' AND NOT stored
  UNION ALL
  SELECT source_id, source_line + 1, logged_key, source_id, source_line,
         CASE WHEN source_line_end > source_line + 1 THEN source_line_end END, file_seq
  FROM ingest_kept WHERE source_line_end IS NOT NULL
)
SELECT source_id, source_line, event_key, first_source_id, first_source_line, source_line_end
FROM repeated ORDER BY file_seq, source_line;

INSERT INTO conflicts BY NAME
SELECT source_id, source_line, event_key, stored_key, first_source_id, first_source_line
FROM ingest_repeats WHERE kind = 'conflict' AND NOT stored
ORDER BY file_seq, source_line
