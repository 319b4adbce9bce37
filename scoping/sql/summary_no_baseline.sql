-- question: which compromised accounts have no activity at all in their baseline, so that none of their segments
--           can be told to be the holder's (all undetermined unless departure or an indicator says attacker)?
-- params: none
-- reads: incident_accounts, scope_baseline
-- order: account_id
-- assumptions: the baseline as scope read it (refused requests and the judged segments left out).
SELECT account_id
FROM incident_accounts
WHERE account_id NOT IN (SELECT account_id FROM scope_baseline)
ORDER BY account_id
