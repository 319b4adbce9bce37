-- question: which versions of a repeated key are JSON records whose minified text differs, so that whether they
--           differ only by the order of their keys must be decided on their text?
-- params: none
-- reads: ingest_occurrences
-- order: source_id, source_line
-- assumptions: a version is a (key, content digest) pair, read where it first occurs; JSON-lines records only
--   (the digest of a minified record already ignores whitespace; key order needs the record itself).
WITH versions AS (
  SELECT event_key, digest, arg_min(source_id, rank) AS source_id, arg_min(source_line, rank) AS source_line
  FROM ingest_occurrences
  WHERE format = 'jsonl' AND digest IS NOT NULL
  GROUP BY event_key, digest
),
final AS (
  SELECT event_key, CAST(digest AS VARCHAR) AS digest, source_id, source_line
  FROM versions
  WHERE event_key IN (SELECT event_key FROM versions GROUP BY event_key HAVING count(*) > 1)
)
SELECT * FROM final ORDER BY source_id, source_line
