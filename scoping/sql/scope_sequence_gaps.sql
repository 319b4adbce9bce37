-- question: which ids are missing from each sequentially numbered source inside the windows: holes between two
--           records logged in the same window that no line of the evidence fills, with the records on either side?
-- params: from_ts, to_ts, sources
-- reads: events, evidence, incident_windows, quarantine
-- order: source, first_missing
-- assumptions: sources are those scope_sequence_sources found sequential; their ids are read as it reads them.
--   Within each window the records of a source are sorted by id; a rise of d from one to the next leaves d - 1 ids
--   unseen, of which the quarantined lines lying between the two records (in the same file between their lines;
--   across two files after the first in its file and before the second in its own) may hold some: they are in
--   the evidence, only unreadable; the rest are missing. A hole across a window's edge, or between two windows,
--   is not read (the records outside the windows are not). after_utc and before_utc are the times of the records
--   on either side: the missing records were written between them if the log numbers in time order.
WITH records AS (
  SELECT DISTINCT v.source, w.window_no, e.source_id, v.path, e.source_line, e.event_key, e.ts
  FROM events e
  JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
  JOIN evidence v USING (source_id)
  WHERE e.ts >= CAST($from_ts AS TIMESTAMPTZ) AND e.ts < CAST($to_ts AS TIMESTAMPTZ) AND v.kind = 'log'
    AND list_contains($sources, v.source)
),
ids AS (
  SELECT *, CAST(regexp_extract(substr(event_key, length(source) + 2), '\d+$') AS BIGINT) AS seq
  FROM records
),
neighbours AS (
  SELECT *,
    lead(seq) OVER w AS next_seq, lead(source_id) OVER w AS next_source_id, lead(path) OVER w AS next_path,
    lead(source_line) OVER w AS next_line, lead(ts) OVER w AS next_ts
  FROM ids
  WINDOW w AS (PARTITION BY source, window_no ORDER BY seq, source_id, source_line)
),
jumps AS (
  SELECT * FROM neighbours WHERE next_seq - seq > 1
),
unreadable AS (
  SELECT j.source, j.window_no, j.seq, count(q.source_line) AS quarantined_between
  FROM jumps j
  LEFT JOIN quarantine q
    ON (q.source_id = j.source_id AND q.source_line > j.source_line
        AND (j.next_source_id <> j.source_id OR q.source_line < j.next_line))
    OR (j.next_source_id <> j.source_id AND q.source_id = j.next_source_id AND q.source_line < j.next_line)
  GROUP BY j.source, j.window_no, j.seq
),
final AS (
  SELECT j.source, j.seq + 1 AS first_missing, j.next_seq - 1 AS last_missing,
    j.next_seq - j.seq - 1 - u.quarantined_between AS missing, u.quarantined_between,
    iso_utc(j.ts) AS after_utc, iso_utc(j.next_ts) AS before_utc,
    j.path AS after_file, j.source_line AS after_line, j.next_path AS before_file, j.next_line AS before_line
  FROM jumps j JOIN unreadable u USING (source, window_no, seq)
  WHERE j.next_seq - j.seq - 1 - u.quarantined_between > 0
)
SELECT * FROM final ORDER BY source, first_missing
