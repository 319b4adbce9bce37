-- question: the compromised accounts: their practice, departure, segments by verdict (an analyst's `excluded`
--           included), patients reached and the
--           first and last suspect activity (accounts.csv).
-- params: none
-- reads: incident_accounts, accounts, scope_segments, scope_exposures
-- order: account_id
-- assumptions: account_no numbers the accounts in id order (neutral labels such as "account 2" in the shareable
--   report and the practices' kits); instants in UTC (iso_utc).
WITH s AS (
  SELECT account_id,
    count(*) FILTER (WHERE verdict = 'attacker') AS attacker_segments,
    count(*) FILTER (WHERE verdict = 'owner') AS owner_segments,
    count(*) FILTER (WHERE verdict = 'undetermined') AS undetermined_segments,
    count(*) FILTER (WHERE verdict = 'excluded') AS excluded_segments,
    min(segment_start) FILTER (WHERE verdict IN ('attacker', 'undetermined')) AS first_suspect,
    max(segment_end) FILTER (WHERE verdict IN ('attacker', 'undetermined')) AS last_suspect
  FROM scope_segments GROUP BY account_id
),
x AS (SELECT account_id, count(DISTINCT patient_id) AS patients_reached FROM scope_exposures GROUP BY account_id),
final AS (
  SELECT row_number() OVER (ORDER BY i.account_id) AS account_no, i.account_id, a.practice_id, a.role,
    iso_utc(a.active_until) AS active_until_utc,
    coalesce(s.attacker_segments, 0) AS attacker_segments,
    coalesce(s.owner_segments, 0) AS owner_segments,
    coalesce(s.undetermined_segments, 0) AS undetermined_segments,
    coalesce(s.excluded_segments, 0) AS excluded_segments,
    coalesce(x.patients_reached, 0) AS patients_reached,
    iso_utc(s.first_suspect) AS first_suspect_activity_utc,
    iso_utc(s.last_suspect) AS last_suspect_activity_utc
  FROM incident_accounts i
  LEFT JOIN accounts a USING (account_id)
  LEFT JOIN s USING (account_id)
  LEFT JOIN x USING (account_id)
)
SELECT * FROM final ORDER BY account_id
