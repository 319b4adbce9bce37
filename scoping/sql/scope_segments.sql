-- question: which segments (the part of a session from one address and one client) of the compromised accounts
--           fall in a breach window, and is each one the attacker's, the owner's, or undetermined — for which
--           reasons?
-- params: usual_min_days
-- reads: scope_account_events, scope_baseline, incident_windows, incident_ip_matches, incident_client_matches, accounts,
--        incident_decisions, incident_address_keys
-- writes: scope_segments
-- order: account_id, segment_start, segment_key
-- assumptions: the baseline of an account is its activity before the first window starts (scope_baseline). An
--   address or a client is the account's usual one when the account used it on at least $usual_min_days different
--   (UTC) days of its baseline: one visit the day before the window (an intruder trying the stolen password) makes
--   nothing usual. An account active on fewer days than that has no baseline to tell its usual address and
--   client, but an address or client it never used at all is still new. A segment has one address and one client. Verdicts, judged segment by segment:
--   attacker      activity after the account's departure; an indicator address or client; both an address and a
--                 client never seen for the account in its baseline; or a replayed session: another segment of the
--                 same session comes from the account's usual address and client, and this one from an address
--                 never seen for the account (a session cookie used from elsewhere), whatever their order;
--   owner         the account's usual address and usual client (one of them may be missing from the log, not
--                 both), and no attacker reason;
--   undetermined  anything else (one of address or client is new, the log shows neither, or the account has no
--                 activity before the window to compare with).
--   An address is compared as a network key (scope.address_key: IPv4-mapped IPv6 as IPv4, a port dropped, IPv6 by
--   its /64), so a spelling or an IPv6 privacy address does not make an address new. Refused requests and the
--   segments being judged are not baseline (scope_baseline).
--   A session with one address and one client is one segment, judged as the whole session always was.
--   n_refused_logins counts its refused logins (login_failed, or a login whose outcome is failure): a segment of
--   nothing else is a failed-login burst, which the report groups per account and address.
--   An analyst's decision (incident_decisions, naming the segment or its whole session) overrules the rules: the
--   verdict is the decision's, rule_verdict keeps what the rules said, and the reasons say who decided and why.
CREATE OR REPLACE TABLE scope_segments AS
WITH in_window AS (
  SELECT DISTINCT e.account_id, e.segment_key, e.session_key
  FROM scope_account_events e
  JOIN incident_windows w ON e.ts >= w.start_utc AND e.ts < w.end_utc
),
baseline_keys AS (
  SELECT b.account_id, k.net_key, count(DISTINCT b.day) >= $usual_min_days AS usual
  FROM scope_baseline b JOIN incident_address_keys k ON k.src_ip = b.src_ip
  GROUP BY ALL
),
baseline_clients AS (
  SELECT account_id, user_agent, count(DISTINCT day) >= $usual_min_days AS usual
  FROM scope_baseline WHERE user_agent IS NOT NULL
  GROUP BY ALL
),
baselined AS (
  SELECT account_id FROM scope_baseline GROUP BY account_id HAVING count(DISTINCT day) >= $usual_min_days
),
segment_events AS (
  -- every segment of the sessions that reach into a window (the owner's part of a replayed session may lie before)
  SELECT e.*,
    a.active_until,
    e.seg_ip IN (SELECT src_ip FROM incident_ip_matches) AS ip_indicator,
    e.seg_client IN (SELECT user_agent FROM incident_client_matches) AS client_indicator,
    coalesce(b.usual, false) AS ip_known,
    coalesce(c.usual, false) AS client_known,
    b.net_key IS NOT NULL AS ip_seen,
    c.user_agent IS NOT NULL AS client_seen,
    e.account_id IN (SELECT account_id FROM baselined) AS has_baseline,
    e.account_id IN (SELECT account_id FROM scope_baseline) AS has_history
  FROM scope_account_events e
  SEMI JOIN (SELECT DISTINCT account_id, session_key FROM in_window) s USING (account_id, session_key)
  LEFT JOIN accounts a USING (account_id)
  LEFT JOIN incident_address_keys k ON k.src_ip = e.seg_ip
  LEFT JOIN baseline_keys b ON b.account_id = e.account_id AND b.net_key = k.net_key
  LEFT JOIN baseline_clients c ON c.account_id = e.account_id AND c.user_agent = e.seg_client
),
per_segment AS (
  SELECT account_id, session_key, segment_key,
    min(ts) AS segment_start, max(ts) AS segment_end,
    any_value(seg_ip) AS src_ip,
    any_value(seg_client) AS user_agent,
    count(DISTINCT event_key) AS n_events,
    count(DISTINCT event_key) FILTER (WHERE action = 'login_failed' OR (action = 'login' AND outcome = 'failure'))
      AS n_refused_logins,
    count(DISTINCT patient_id) AS n_patients,
    bool_or(has_baseline) AS has_baseline,
    bool_or(active_until IS NOT NULL AND ts >= active_until) AS after_departure,
    bool_or(ip_indicator) AS indicator_address,
    bool_or(client_indicator) AS indicator_client,
    -- new: not usual when the account has a baseline; never seen at all when it has too little history for one
    bool_or(seg_ip IS NOT NULL AND ((has_baseline AND NOT ip_known) OR (has_history AND NOT ip_seen)))
      AS new_address,
    bool_or(seg_client IS NOT NULL AND ((has_baseline AND NOT client_known) OR (has_history AND NOT client_seen)))
      AS new_client,
    bool_or(seg_ip IS NOT NULL AND NOT ip_known AND ip_seen) AS address_seldom,
    bool_or(seg_client IS NOT NULL AND NOT client_known AND client_seen) AS client_seldom,
    bool_and(seg_ip IS NULL OR ip_known) AS usual_address,
    bool_and(seg_client IS NULL OR client_known) AS usual_client,
    bool_or(seg_ip IS NOT NULL OR seg_client IS NOT NULL) AS identified
  FROM segment_events
  GROUP BY account_id, session_key, segment_key
),
with_session AS (
  -- a replayed session: the account's holder is in it (a segment from the usual address and client), and another
  -- segment comes from an address never seen for the account, whatever came first
  SELECT *,
    new_address AND bool_or(usual_address AND usual_client AND identified AND has_baseline)
      OVER (PARTITION BY account_id, session_key) AS replayed
  FROM per_segment
),
numbered AS (
  SELECT w.*,
    row_number() OVER (PARTITION BY w.account_id, w.session_key ORDER BY w.segment_start, w.segment_key)
      AS segment_no,
    count(*) OVER (PARTITION BY w.account_id, w.session_key) AS session_segments
  FROM with_session w
  SEMI JOIN in_window i USING (account_id, segment_key)
),
ruled AS (
  SELECT *,
    CASE WHEN after_departure OR indicator_address OR indicator_client OR (new_address AND new_client) OR replayed
           THEN 'attacker'
         WHEN usual_address AND usual_client AND identified AND has_baseline THEN 'owner'
         ELSE 'undetermined' END AS rule_verdict,
    concat_ws('; ',
      CASE WHEN after_departure THEN 'activity after the account holder''s departure' END,
      CASE WHEN indicator_address THEN 'address matches an incident indicator' END,
      CASE WHEN indicator_client THEN 'client (user agent) matches an incident indicator' END,
      CASE WHEN replayed THEN 'replayed session: the same session was also used from the account''s usual '
                              || 'address and client' END,
      CASE WHEN new_address AND NOT address_seldom THEN 'address never seen for this account in its baseline' END,
      CASE WHEN new_address AND address_seldom THEN 'address seen on too few days to be usual' END,
      CASE WHEN new_client AND NOT client_seldom THEN 'client never seen for this account in its baseline' END,
      CASE WHEN new_client AND client_seldom THEN 'client seen on too few days to be usual' END,
      CASE WHEN usual_address AND src_ip IS NOT NULL THEN 'the account''s usual address' END,
      CASE WHEN usual_client AND user_agent IS NOT NULL THEN 'the account''s usual client' END,
      CASE WHEN NOT identified THEN 'neither address nor client logged: nothing shows who acted' END,
      CASE WHEN NOT has_baseline THEN 'too little activity before the window to know the account''s usual '
                                      || 'address and client' END)
      AS rule_reasons
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
