-- question: which raw values did the mapping leave unclassified (events whose action stayed `other`, or whose
--           category stayed `unknown`), how many events each, and how many of those named a patient?
-- params: sources, top
-- reads: events, evidence, action_vocabulary
-- order: source, column, events (most first), raw_value
-- assumptions: the raw value is the event's action_raw (the logged action, or for a rule-driven source the
--   fields its rules read, e.g. "GET /api/v1/patients/P2/"); an event counts once however many patients it names;
--   the `top` most frequent values per source and column are listed; a login or logout touches no data: its
--   category is never missing. `sources` empty means every source.
WITH chosen AS (
  SELECT source_id, source FROM evidence
  WHERE kind = 'log' AND (len($sources) = 0 OR list_contains($sources, source))
),
lines AS (
  SELECT e.source_id, e.source_line, any_value(e.action) AS action, any_value(e.category) AS category,
         any_value(e.action_raw) AS action_raw, count(e.patient_id) AS accesses
  FROM events e SEMI JOIN chosen c ON c.source_id = e.source_id
  WHERE e.action = 'other' OR (e.category = 'unknown' AND e.action NOT IN (SELECT action FROM action_vocabulary WHERE authentication))
  GROUP BY e.source_id, e.source_line
),
tagged AS (
  SELECT c.source, 'action' AS "column", l.action_raw AS raw_value, count(*) AS events,
         count(*) FILTER (WHERE l.accesses > 0) AS with_patient
  FROM lines l JOIN chosen c USING (source_id) WHERE l.action = 'other' GROUP BY ALL
  UNION ALL
  SELECT c.source, 'category', l.action_raw, count(*), count(*) FILTER (WHERE l.accesses > 0)
  FROM lines l JOIN chosen c USING (source_id)
  WHERE l.category = 'unknown' AND l.action NOT IN (SELECT action FROM action_vocabulary WHERE authentication) GROUP BY ALL
),
final AS (
  SELECT *, row_number() OVER (PARTITION BY source, "column" ORDER BY events DESC, raw_value NULLS LAST) AS n
  FROM tagged
)
SELECT source, "column", raw_value, events, with_patient FROM final
WHERE n <= $top
ORDER BY source, "column", events DESC, raw_value NULLS LAST
