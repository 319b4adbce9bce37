-- question: the headline numbers a breach notification needs (GDPR Art. 33(3)(a), CNIL, HIPAA 404(c)):
--           patients and controllers affected, by exposure; attempted patients; records reached;
--           accounts and sessions; first and last attacker activity.
-- params: none
-- reads: scope_affected, scope_attempted, scope_accesses, scope_sessions
-- order: one row
WITH a AS (
  SELECT count(DISTINCT patient_id) AS patients_affected,
         count(*) AS patient_controller_rows,
         count(DISTINCT practice_id) AS controllers_affected,
         count(DISTINCT patient_id) FILTER (WHERE exposure = 'listed') AS exposure_listed,
         count(DISTINCT patient_id) FILTER (WHERE exposure = 'opened') AS exposure_opened,
         count(DISTINCT patient_id) FILTER (WHERE exposure = 'copied') AS exposure_copied,
         count(DISTINCT patient_id) FILTER (WHERE modified) AS patients_modified,
         count(DISTINCT patient_id) FILTER (WHERE attribution = 'undetermined') AS patients_undetermined_only
  FROM scope_affected
),
t AS (SELECT count(DISTINCT patient_id) AS patients_attempted_only FROM scope_attempted),
x AS (
  SELECT count(*) FILTER (WHERE reached) AS accesses_reached,
         count(DISTINCT event_key) FILTER (WHERE reached) AS events_reached,
         count(*) FILTER (WHERE NOT reached) AS accesses_denied,
         iso_utc(min(ts)) AS first_attacker_access_utc,
         iso_utc(max(ts)) AS last_attacker_access_utc
  FROM scope_accesses
),
s AS (
  SELECT count(*) FILTER (WHERE verdict = 'attacker') AS sessions_attacker,
         count(*) FILTER (WHERE verdict = 'owner') AS sessions_owner,
         count(*) FILTER (WHERE verdict = 'undetermined') AS sessions_undetermined,
         count(DISTINCT account_id) FILTER (WHERE verdict <> 'owner') AS accounts_with_suspect_sessions,
         iso_utc(min(session_start) FILTER (WHERE verdict = 'attacker'))
           AS first_attacker_activity_utc,
         iso_utc(max(session_end) FILTER (WHERE verdict = 'attacker'))
           AS last_attacker_activity_utc
  FROM scope_sessions
),
final AS (SELECT * FROM a, t, x, s)
SELECT * FROM final
