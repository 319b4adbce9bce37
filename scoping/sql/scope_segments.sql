-- question: which segments (the part of a session from one address and one client) of the compromised accounts
--           fall in a breach window, and is each one the attacker's, the owner's, or undetermined — for which
--           reasons?
-- params: none
-- reads: scope_account_events, scope_baseline, incident_windows, incident_ip_matches, incident_client_matches, accounts,
--        incident_decisions
-- writes: scope_segments
-- order: account_id, segment_start, segment_key
-- assumptions: the baseline of an account is its activity before the first window starts (scope_baseline). A
--   segment has one address and one client. Verdicts, judged segment by segment:
--   attacker      activity after the account's departure; an indicator address or client; both an address and a
--                 client never seen for the account in its baseline; or a replayed session: the session began
--                 from the account's usual address and client, and this segment comes from another address never
--                 seen for the account (a session cookie used from elsewhere);
--   owner         the account's usual address and usual client (one of them may be missing from the log, not
--                 both), and no attacker reason;
--   undetermined  anything else (one of address or client is new, or the log shows neither).
--   A session with one address and one client is one segment, judged as the whole session always was.
--   An analyst's decision (incident_decisions, naming the segment or its whole session) overrules the rules: the
--   verdict is the decision's, rule_verdict keeps what the rules said, and the reasons say who decided and why.
CREATE OR REPLACE TABLE scope_segments AS
WITH in_window AS (
  SELECT DISTINCT e.account_id, e.segment_key
  FROM scope_account_events e
  JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
),
baseline_ips AS (
  SELECT DISTINCT account_id, src_ip FROM scope_baseline WHERE src_ip IS NOT NULL
),
baseline_clients AS (
  SELECT DISTINCT account_id, user_agent FROM scope_baseline WHERE user_agent IS NOT NULL
),
segment_events AS (
  SELECT e.*,
    a.active_until,
    e.src_ip IN (SELECT src_ip FROM incident_ip_matches) AS ip_indicator,
    e.user_agent IN (SELECT user_agent FROM incident_client_matches) AS client_indicator,
    b.src_ip IS NOT NULL AS ip_known,
    c.user_agent IS NOT NULL AS client_known,
    (e.session_ip IS NULL OR sb.src_ip IS NOT NULL) AND (e.session_client IS NULL OR sc.user_agent IS NOT NULL)
      AS session_began_usual
  FROM scope_account_events e
  JOIN in_window s USING (account_id, segment_key)
  LEFT JOIN accounts a USING (account_id)
  LEFT JOIN baseline_ips b ON b.account_id = e.account_id AND b.src_ip = e.src_ip
  LEFT JOIN baseline_clients c ON c.account_id = e.account_id AND c.user_agent = e.user_agent
  LEFT JOIN baseline_ips sb ON sb.account_id = e.account_id AND sb.src_ip = e.session_ip
  LEFT JOIN baseline_clients sc ON sc.account_id = e.account_id AND sc.user_agent = e.session_client
),
per_segment AS (
  SELECT account_id, session_key, segment_key,
    min(ts) AS segment_start, max(ts) AS segment_end,
    any_value(src_ip) AS src_ip,
    any_value(user_agent) AS user_agent,
    any_value(session_ip) AS session_ip,
    count(DISTINCT event_key) AS n_events,
    count(DISTINCT patient_id) AS n_patients,
    bool_or(active_until IS NOT NULL AND ts >= active_until) AS after_departure,
    bool_or(ip_indicator) AS indicator_address,
    bool_or(client_indicator) AS indicator_client,
    bool_or(src_ip IS NOT NULL AND NOT ip_known) AS new_address,
    bool_or(user_agent IS NOT NULL AND NOT client_known) AS new_client,
    bool_and(src_ip IS NULL OR ip_known) AS usual_address,
    bool_and(user_agent IS NULL OR client_known) AS usual_client,
    bool_or(src_ip IS NOT NULL OR user_agent IS NOT NULL) AS identified,
    bool_or(session_began_usual AND src_ip IS DISTINCT FROM session_ip AND src_ip IS NOT NULL AND NOT ip_known)
      AS replayed
  FROM segment_events
  GROUP BY account_id, session_key, segment_key
),
numbered AS (
  SELECT *,
    row_number() OVER (PARTITION BY account_id, session_key ORDER BY segment_start, segment_key) AS segment_no,
    count(*) OVER (PARTITION BY account_id, session_key) AS session_segments
  FROM per_segment
),
ruled AS (
  SELECT *,
    CASE WHEN after_departure OR indicator_address OR indicator_client OR (new_address AND new_client) OR replayed
           THEN 'attacker'
         WHEN usual_address AND usual_client AND identified THEN 'owner'
         ELSE 'undetermined' END AS rule_verdict,
    concat_ws('; ',
      CASE WHEN after_departure THEN 'activity after the account holder''s departure' END,
      CASE WHEN indicator_address THEN 'address matches an incident indicator' END,
      CASE WHEN indicator_client THEN 'client (user agent) matches an incident indicator' END,
      CASE WHEN replayed THEN 'address changed inside a session begun from the account''s usual address and '
                              || 'client: replayed session' END,
      CASE WHEN new_address THEN 'address never seen for this account in its baseline' END,
      CASE WHEN new_client THEN 'client never seen for this account in its baseline' END,
      CASE WHEN usual_address AND src_ip IS NOT NULL THEN 'the account''s usual address' END,
      CASE WHEN usual_client AND user_agent IS NOT NULL THEN 'the account''s usual client' END,
      CASE WHEN NOT identified THEN 'neither address nor client logged: nothing shows who acted' END) AS rule_reasons
  FROM numbered
),
decided AS (
  SELECT r.*, coalesce(ds.verdict, dn.verdict) AS decision_verdict,
    coalesce(ds.justification, dn.justification) AS decision_justification,
    coalesce(ds.decided_by, dn.decided_by) AS decided_by
  FROM ruled r
  LEFT JOIN incident_decisions ds ON ds.decision_key = r.segment_key
  LEFT JOIN incident_decisions dn ON dn.decision_key = r.session_key
),
final AS (
  SELECT * EXCLUDE (decision_verdict, rule_reasons),
    coalesce(decision_verdict, rule_verdict) AS verdict,
    CASE WHEN decision_verdict IS NULL THEN rule_reasons
         ELSE 'analyst decision' || CASE WHEN decided_by <> '' THEN ' (' || decided_by || ')' ELSE '' END
              || ': ' || decision_verdict || ', ' || decision_justification || ' [the rules said ' || rule_verdict
              || ': ' || rule_reasons || ']' END AS reasons
  FROM decided
)
SELECT * FROM final ORDER BY account_id, segment_start, segment_key;
