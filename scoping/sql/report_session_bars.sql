-- question: when did each in-window segment of each compromised account start and end, and what was its
--           verdict? (the account timeline figure)
-- params: none
-- reads: scope_segments, incident_accounts
-- order: account_id, segment_start, segment_key
-- assumptions: account_no numbers the accounts in id order, as accounts.csv does (the shareable figure shows it).
WITH numbered AS (
  SELECT account_id, row_number() OVER (ORDER BY account_id) AS account_no FROM incident_accounts
)
SELECT s.account_id, n.account_no, s.session_key, s.segment_key, s.segment_start, s.segment_end, s.verdict,
  s.n_patients
FROM scope_segments s JOIN numbered n USING (account_id)
ORDER BY s.account_id, s.segment_start, s.segment_key
