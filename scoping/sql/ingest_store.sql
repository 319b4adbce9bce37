-- question: store this ingest's quarantined lines (with their reason), its events (one row per patient
--           touched), each account's hours (address, client, counts) and its duplicates (with the line
--           each one repeats).
-- params: none
-- reads: ingest_pending, ingest_kept, ingest_repeats
-- writes: quarantine, events, account_hours, duplicates
-- order: events are appended in the order they were set aside (each batch by ts), so clustered by time,
--        quarantine and duplicates by file, then line.
-- assumptions: an event naming no patient is stored once with patient_id NULL.
INSERT INTO quarantine
SELECT source_id, source_line,
       left(coalesce(txt, CAST(raw AS VARCHAR)), 2048) AS raw_text,
       problem AS reason
FROM ingest_pending
WHERE problem IS NOT NULL
ORDER BY file_seq, source_line;

INSERT INTO events
SELECT p.event_key, p.ts, p.ts_raw, p.ts_flag, p.account_id, p.session_id, p.src_ip, p.user_agent, p.action,
       p.action_raw, p.category, unnest(p.patients) AS patient_id, p.patient_link, p.outcome, p.resource_type,
       p.resource_id, p.source_id, p.source_line
FROM ingest_kept p;

INSERT INTO account_hours
SELECT account_id, date_trunc('hour', ts) AS hour, src_ip, user_agent, count(*) AS event_rows,
       count(patient_id) AS accesses,
       count(patient_id) FILTER (WHERE action IN ('export', 'download', 'print')) AS copies
FROM (SELECT account_id, ts, src_ip, user_agent, action, unnest(patients) AS patient_id FROM ingest_kept)
GROUP BY ALL;

INSERT INTO duplicates
SELECT source_id, source_line, event_key, first_source_id, first_source_line
FROM ingest_repeats
ORDER BY file_seq, source_line;
