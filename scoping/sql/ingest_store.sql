-- question: store the classified lines of one evidence file: events (one row per patient touched),
--           duplicates (with the line they repeat) and quarantined lines (with their reason).
-- params: source_id
-- reads: staging_mapped, staging_classified
-- writes: duplicates, quarantine, staging_events
-- order: source_line (staging_events is re-sorted by ts when the ingest ends)
-- assumptions: an event naming no patient is stored once with patient_id NULL.
INSERT INTO staging_events
SELECT event_key, ts, ts_raw, ts_flag, account_id, session_id, src_ip, user_agent, action, action_raw,
       category, unnest(patients) AS patient_id, patient_link, outcome, resource_type, resource_id,
       $source_id AS source_id, source_line
FROM staging_classified
WHERE status = 'event'
ORDER BY source_line;

INSERT INTO duplicates
SELECT $source_id, source_line, event_key, coalesce(first_source_id, $source_id), first_source_line
FROM staging_classified
WHERE status = 'duplicate'
ORDER BY source_line;

INSERT INTO quarantine
SELECT $source_id, source_line,
       left(coalesce(txt, CAST(raw AS VARCHAR)), 2048) AS raw_text,
       problem AS reason
FROM staging_mapped
WHERE problem IS NOT NULL
ORDER BY source_line;
