-- question: does a key given to a conflicting version (key#digest) collide with another line's key, which would
--           make (event_key, patient_id) ambiguous?
-- params: none
-- reads: ingest_repeats, ingest_pending, events
-- order: stored_key
-- assumptions: returns the colliding keys; an empty result means every stored key names one line. Run only when
--   this ingest found conflicts.
WITH mine AS (
  SELECT stored_key, source_id, source_line FROM ingest_repeats WHERE kind = 'conflict' AND NOT stored
),
final AS (
  SELECT m.stored_key, m.source_id, m.source_line FROM mine m
  WHERE EXISTS (SELECT 1 FROM ingest_pending p WHERE p.problem IS NULL AND p.event_key = m.stored_key)
     OR EXISTS (SELECT 1 FROM events e WHERE e.event_key = m.stored_key)
     OR (SELECT count(*) FROM mine x WHERE x.stored_key = m.stored_key) > 1
)
SELECT * FROM final ORDER BY stored_key
