-- question: the headline numbers a breach notification needs (GDPR Art. 33(3)(a), CNIL, HIPAA 404(c)):
--           patients and controllers affected, by exposure; attempted and unassigned patients; records reached;
--           accounts, sessions and segments by verdict.
-- params: none
-- reads: scope_affected, scope_attempted, scope_accesses, scope_segments
-- order: one row
-- assumptions: patients no practice knows are counted apart (unassigned_*), never in the per-practice counts;
--   when and how long the attacker acted is summary_activity's question.
WITH a AS (
  SELECT count(DISTINCT patient_id) AS patients_affected,
         count(*) AS patient_controller_rows,
         count(DISTINCT practice_id) AS controllers_affected,
         count(DISTINCT patient_id) FILTER (WHERE exposure = 'listed') AS exposure_listed,
         count(DISTINCT patient_id) FILTER (WHERE exposure = 'opened') AS exposure_opened,
         count(DISTINCT patient_id) FILTER (WHERE exposure = 'copied') AS exposure_copied,
         count(DISTINCT patient_id) FILTER (WHERE modified) AS patients_modified,
         count(DISTINCT patient_id) FILTER (WHERE attribution = 'undetermined') AS patients_undetermined_only
  FROM scope_affected WHERE practice_id IS NOT NULL
),
t AS (
  SELECT count(DISTINCT patient_id) FILTER (WHERE practice_id IS NOT NULL) AS patients_attempted_only,
         count(DISTINCT patient_id) FILTER (WHERE practice_id IS NULL) AS unassigned_attempted
  FROM scope_attempted
),
u AS (SELECT count(DISTINCT patient_id) AS unassigned_affected FROM scope_affected WHERE practice_id IS NULL),
x AS (
  SELECT count(*) FILTER (WHERE reached AND counted) AS accesses_reached,
         count(DISTINCT event_key) FILTER (WHERE reached AND counted) AS events_reached,
         count(*) FILTER (WHERE NOT reached AND counted) AS accesses_denied
  FROM scope_accesses
),
left_out AS (
  -- reached by undetermined segments the run does not count, and by nothing it counts
  SELECT count(*) AS patients_left_out_undetermined FROM (
    SELECT patient_id FROM scope_accesses WHERE reached GROUP BY patient_id
    HAVING bool_or(NOT counted) AND NOT bool_or(counted))
),
s AS (
  SELECT count(*) FILTER (WHERE verdict = 'attacker') AS segments_attacker,
         count(*) FILTER (WHERE verdict = 'owner') AS segments_owner,
         count(*) FILTER (WHERE verdict = 'undetermined') AS segments_undetermined,
         count(*) FILTER (WHERE verdict = 'excluded') AS segments_excluded,
         count(DISTINCT session_key) AS sessions,
         count(DISTINCT session_key) FILTER (WHERE session_segments > 1) AS sessions_with_several_segments,
         count(DISTINCT account_id) FILTER (WHERE verdict IN ('attacker', 'undetermined'))
           AS accounts_with_suspect_segments
  FROM scope_segments
),
final AS (SELECT * FROM a, t, u, x, left_out, s)
SELECT * FROM final
