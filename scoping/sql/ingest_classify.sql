-- question: which of this ingest's lines repeat an event already seen — earlier in the same file, in an
--           earlier file of this ingest (rotated logs), or in an earlier ingest — and which line is the
--           first occurrence each of them repeats?
-- params: none
-- reads: ingest_pending, events, evidence
-- writes: ingest_repeats, ingest_kept (a view: this ingest's mapped lines that are not duplicates)
-- order: none here (ingest_store writes duplicates in file and line order)
-- assumptions: duplicates are judged on event_key; the first occurrence (earliest ingest, then earliest
--              file, then earliest line) is the one kept. Only repeated keys are ranked, so the cost is one
--              hash aggregation over the ingest's keys, not a sort of the events.
CREATE OR REPLACE TEMP TABLE ingest_repeats AS
WITH repeated AS (
  SELECT event_key FROM ingest_pending WHERE problem IS NULL GROUP BY event_key HAVING count(*) > 1
  UNION
  SELECT DISTINCT event_key FROM events WHERE event_key IN (SELECT event_key FROM ingest_pending WHERE problem IS NULL)
),
occurrences AS (
  SELECT e.event_key, e.source_id, e.source_line, [0, v.ingest_run, e.source_line] AS rank
  FROM events e JOIN evidence v USING (source_id)
  WHERE e.event_key IN (SELECT event_key FROM repeated)
  UNION ALL
  SELECT event_key, source_id, source_line, [1, file_seq, source_line] AS rank
  FROM ingest_pending
  WHERE problem IS NULL AND event_key IN (SELECT event_key FROM repeated)
),
first AS (
  SELECT event_key, arg_min(source_id, rank) AS first_source_id, arg_min(source_line, rank) AS first_source_line
  FROM occurrences
  GROUP BY event_key
),
final AS (
  SELECT p.source_id, p.source_line, p.event_key, f.first_source_id, f.first_source_line, p.file_seq
  FROM ingest_pending p
  JOIN first f USING (event_key)
  WHERE p.problem IS NULL AND NOT (p.source_id = f.first_source_id AND p.source_line = f.first_source_line)
)
SELECT * FROM final;

CREATE OR REPLACE TEMP VIEW ingest_kept AS
SELECT p.*
FROM ingest_pending p
ANTI JOIN ingest_repeats r ON r.source_id = p.source_id AND r.source_line = p.source_line
WHERE p.problem IS NULL
