-- question: for every line of this ingest whose key is seen more than once, is it the key's first version (an
--           event), another version of it (a conflict: kept as an event under a key of its own, flagged), or a
--           repeat of a version already seen (a duplicate: same key, same content)?
-- params: none
-- reads: ingest_occurrences, ingest_canonical, ingest_pending
-- writes: ingest_versions, ingest_repeats, ingest_flag_stored, ingest_kept (a view: this ingest's lines stored as
--         events, with their stored key)
-- order: none here (ingest_store writes duplicates and conflicts in file and line order)
-- assumptions: a version is a key with one content (the digest of the normalised record; JSON versions that
--   differ only in key order share their canonical digest); it first occurs at its lowest rank (stored lines
--   first). The key's first version keeps the key; every other version is stored as key#<16 hex digits of its
--   digest>. A line of unknown content (a store written before digests) is a version of its own.
CREATE OR REPLACE TEMP TABLE ingest_versions AS
WITH identified AS (
  SELECT o.*, coalesce(c.canonical, o.digest,
                       CAST('0x' || left(sha256(o.source_id || ':' || o.source_line), 16) AS UBIGINT)) AS vid
  FROM ingest_occurrences o
  LEFT JOIN ingest_canonical c ON c.event_key = o.event_key AND c.digest = o.digest
)
SELECT i.*,
  arg_min(source_id, rank) OVER (PARTITION BY event_key, vid) AS vsid,
  arg_min(source_line, rank) OVER (PARTITION BY event_key, vid) AS vline,
  min(rank) OVER (PARTITION BY event_key, vid) AS vrank
FROM identified i;

CREATE OR REPLACE TEMP TABLE ingest_repeats AS
WITH first_version AS (
  SELECT event_key, arg_min(vsid, vrank) AS psid, arg_min(vline, vrank) AS pline, count(DISTINCT vid) AS versions
  FROM ingest_versions GROUP BY event_key
),
judged AS (
  SELECT v.source_id, v.source_line, v.source_line_end, v.file_seq, v.event_key, v.vid, f.versions,
    CASE WHEN v.source_id <> v.vsid OR v.source_line <> v.vline THEN 'duplicate'
         WHEN v.source_id = f.psid AND v.source_line = f.pline THEN 'event'
         ELSE 'conflict' END AS kind,
    v.vsid, v.vline, f.psid, f.pline
  FROM ingest_versions v JOIN first_version f USING (event_key)
),
final AS (
  SELECT source_id, source_line, source_line_end, file_seq, event_key, kind,
    CASE kind WHEN 'duplicate' THEN vsid WHEN 'conflict' THEN psid END AS first_source_id,
    CASE kind WHEN 'duplicate' THEN vline WHEN 'conflict' THEN pline END AS first_source_line,
    CASE WHEN kind = 'conflict' THEN event_key || '#' || printf('%016x', vid) END AS stored_key,
    versions > 1 AS key_conflict, file_seq IS NULL AS stored
  FROM judged
)
SELECT * FROM final;

-- stored lines that are now one of several versions of their key: flagged when the events are stored
CREATE OR REPLACE TEMP TABLE ingest_flag_stored AS
SELECT DISTINCT source_id, source_line FROM ingest_repeats WHERE stored AND key_conflict AND kind <> 'duplicate';

CREATE OR REPLACE TEMP VIEW ingest_kept AS
SELECT p.* EXCLUDE (event_key), coalesce(r.stored_key, p.event_key) AS event_key, p.event_key AS logged_key,
       coalesce(r.key_conflict, false) AS key_conflict, coalesce(r.kind, 'event') AS kind
FROM ingest_pending p
LEFT JOIN ingest_repeats r ON r.source_id = p.source_id AND r.source_line = p.source_line AND NOT r.stored
WHERE p.problem IS NULL AND coalesce(r.kind, 'event') <> 'duplicate'
