-- question: which log sources number their records with sequential ids, so that a record missing from the evidence
--           shows as a hole in the ids? (an id that rises by one from line to line through each file)
-- params: from_ts, to_ts, min_records, min_share
-- reads: events, evidence, incident_windows
-- order: source
-- assumptions: only the records of the windows are read (from_ts and to_ts, the first window's start and the last
--   one's end, bound the scan so that the store, clustered by time, skips the rest); a record is one line of an
--   evidence file (an event naming several patients is one record); its id is the log's own key, after the
--   "source:" that ingest puts before it, when that key is digits, after one constant non-digit prefix at most
--   ("22479", "r000022479"); a source is sequential when every record read has such an id, with the same prefix,
--   it has at least min_records records, and at least a share min_share of the steps from one record to the next
--   in line order within a file are +1. Keys hashed from the line (no key in the log) are never sequential.
WITH records AS (
  SELECT DISTINCT v.source, e.source_id, e.source_line, e.event_key
  FROM events e
  JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
  JOIN evidence v USING (source_id)
  WHERE e.ts >= CAST($from_ts AS TIMESTAMPTZ) AND e.ts < CAST($to_ts AS TIMESTAMPTZ) AND v.kind = 'log'
),
tails AS (
  SELECT *, CASE WHEN starts_with(event_key, source || ':') THEN substr(event_key, length(source) + 2) END AS tail
  FROM records
),
ids AS (
  SELECT *,
    CASE WHEN regexp_full_match(tail, '\D*\d{1,18}') THEN regexp_extract(tail, '^\D*') END AS prefix,
    CASE WHEN regexp_full_match(tail, '\D*\d{1,18}') THEN CAST(regexp_extract(tail, '\d+$') AS BIGINT) END AS seq
  FROM tails
),
steps AS (
  SELECT *, seq - lag(seq) OVER (PARTITION BY source_id ORDER BY source_line) AS step
  FROM ids
),
per_source AS (
  SELECT source, count(*) AS records, count(seq) AS numeric_ids, count(DISTINCT prefix) AS prefixes,
    min(prefix) AS prefix, count(step) AS steps, count(*) FILTER (WHERE step = 1) AS steps_of_one,
    min(seq) AS first_id, max(seq) AS last_id
  FROM steps
  GROUP BY source
),
final AS (
  SELECT source, records, numeric_ids, prefix, steps, steps_of_one, first_id, last_id,
    numeric_ids = records AND prefixes = 1 AND records >= $min_records
      AND steps_of_one >= $min_share * steps AS sequential
  FROM per_source
)
SELECT * FROM final ORDER BY source
