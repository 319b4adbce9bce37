-- question: which accounts named in the incident are unknown to the accounts reference table?
-- params: accounts
-- reads: accounts
-- order: account_id
SELECT a AS account_id FROM unnest($accounts) t(a)
WHERE a NOT IN (SELECT account_id FROM accounts)
ORDER BY a
