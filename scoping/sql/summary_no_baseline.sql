-- question: which compromised accounts were active on fewer than $usual_min_days different days of their baseline,
--           so that none of their segments can be told to be the holder's (all undetermined unless departure or an
--           indicator says attacker)?
-- params: usual_min_days
-- reads: incident_accounts, scope_baseline
-- order: account_id
-- assumptions: the baseline as scope read it (refused requests and the judged segments left out).
SELECT account_id
FROM incident_accounts
WHERE account_id NOT IN (SELECT account_id FROM scope_baseline GROUP BY account_id
                         HAVING count(DISTINCT day) >= $usual_min_days)
ORDER BY account_id
