-- question: what is the canonical digest of each JSON record compared (its leaves sorted by path, so that two
--           records differing only in the order of their keys have the same one)?
-- params: none
-- reads: staging_versions (event_key, digest, txt: the records fetched from their evidence files)
-- writes: ingest_canonical
-- order: not applicable (rows inserted)
-- assumptions: every leaf (a scalar, an empty object or array) is written as its path and its JSON text, sorted by
--   path then by position (a key repeated in a record keeps both values, in order); arrays keep their order.
INSERT INTO ingest_canonical
WITH leaves AS (
  SELECT v.event_key, v.digest,
         string_agg(t.fullkey || chr(31) || t.value, chr(30) ORDER BY t.fullkey, t.id) AS form
  FROM staging_versions v, json_tree(v.txt) t
  WHERE json_valid(v.txt) AND (t.type NOT IN ('OBJECT', 'ARRAY') OR t.value IN ('{}', '[]'))
  GROUP BY v.event_key, v.digest
),
final AS (
  SELECT v.event_key, CAST(v.digest AS UBIGINT) AS digest,
         CAST('0x' || left(sha256('canonical JSON' || chr(30) || coalesce(l.form, v.txt)), 16) AS UBIGINT)
           AS canonical
  FROM staging_versions v LEFT JOIN leaves l ON l.event_key = v.event_key AND l.digest = v.digest
)
SELECT * FROM final
