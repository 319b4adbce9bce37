-- question: which logged events are behind a patient, an account, an address or a session — each with the evidence
--           file and line it comes from? (the analyst's drill-down: "show me every line behind patient X")
-- params: patient, account, address, session, since, until, max_rows
-- reads: events, evidence
-- order: ts, event_key, patient_id
-- assumptions: a NULL parameter does not filter; since/until are instants (half-open); a session is the log's own
--   session id; an event naming several patients appears once per patient; source_line is the line (or Bundle
--   entry, or Parquet row) of the evidence file, counted from 1.
WITH final AS (
  SELECT e.ts, iso_utc(e.ts) AS ts_utc, e.account_id, e.session_id, e.src_ip, e.user_agent, e.action, e.action_raw,
    e.category, e.patient_id, e.patient_link, e.outcome, e.resource_type, e.resource_id, e.event_key,
    v.source, v.format, v.path AS source_path, e.source_line
  FROM events e
  JOIN evidence v USING (source_id)
  WHERE ($patient IS NULL OR e.patient_id = $patient)
    AND ($account IS NULL OR e.account_id = $account)
    AND ($address IS NULL OR e.src_ip = $address)
    AND ($session IS NULL OR e.session_id = $session)
    AND ($since IS NULL OR e.ts >= CAST($since AS TIMESTAMPTZ))
    AND ($until IS NULL OR e.ts < CAST($until AS TIMESTAMPTZ))
)
SELECT * EXCLUDE (ts) FROM final
ORDER BY ts, event_key, patient_id NULLS FIRST
LIMIT CAST($max_rows AS BIGINT)
