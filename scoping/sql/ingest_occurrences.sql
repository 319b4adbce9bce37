-- question: which of this ingest's mapped lines carry a key seen more than once (in this ingest, in the store, or
--           as the logged key of a stored conflicting version), and where does every line with such a key sit?
-- params: none
-- reads: ingest_pending, ingest_files, events, conflicts, evidence
-- writes: ingest_keys, ingest_occurrences
-- order: none here (ingest_classify ranks them)
-- assumptions: only repeated keys are examined, so the cost is one hash aggregation over the ingest's keys and
--   one semi-join with the stored keys, not a sort of the events. Rank: stored lines come first (the key's
--   first version, then its conflicting versions, by ingest run), then this ingest's, by file and line.
CREATE OR REPLACE TEMP TABLE ingest_keys AS
WITH mine AS (SELECT event_key, count(*) AS n FROM ingest_pending WHERE problem IS NULL GROUP BY event_key)
SELECT event_key FROM mine WHERE n > 1
UNION
SELECT e.event_key FROM events e SEMI JOIN mine m ON m.event_key = e.event_key
UNION
SELECT c.event_key FROM conflicts c SEMI JOIN mine m ON m.event_key = c.event_key;

CREATE OR REPLACE TEMP TABLE ingest_occurrences AS
WITH stored_first AS (
  SELECT DISTINCT e.event_key, e.content_digest AS digest, e.source_id, e.source_line
  FROM events e SEMI JOIN ingest_keys k ON k.event_key = e.event_key
),
stored_versions AS (
  SELECT DISTINCT c.event_key, e.content_digest AS digest, e.source_id, e.source_line
  FROM conflicts c SEMI JOIN ingest_keys k ON k.event_key = c.event_key
  JOIN events e ON e.source_id = c.source_id AND e.source_line = c.source_line
),
final AS (
  SELECT s.event_key, s.digest, s.source_id, s.source_line, NULL::BIGINT AS source_line_end,
         NULL::INTEGER AS file_seq, v.format,
         {'origin': 0, 'version': 0, 'run': v.ingest_run, 'seq': 0, 'sid': s.source_id, 'line': s.source_line} AS rank
  FROM stored_first s JOIN evidence v USING (source_id)
  UNION ALL
  SELECT s.event_key, s.digest, s.source_id, s.source_line, NULL, NULL, v.format,
         {'origin': 0, 'version': 1, 'run': v.ingest_run, 'seq': 0, 'sid': s.source_id, 'line': s.source_line}
  FROM stored_versions s JOIN evidence v USING (source_id)
  UNION ALL
  SELECT p.event_key, p.content_digest, p.source_id, p.source_line, p.source_line_end, p.file_seq, f.format,
         {'origin': 1, 'version': 0, 'run': 0, 'seq': p.file_seq, 'sid': p.source_id, 'line': p.source_line}
  FROM ingest_pending p JOIN ingest_files f USING (file_seq) SEMI JOIN ingest_keys k ON k.event_key = p.event_key
  WHERE p.problem IS NULL
)
SELECT * FROM final
