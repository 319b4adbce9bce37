-- question: store the incident being scoped (windows in UTC, compromised accounts, matched indicators)
--           in the case store, so the store holds the whole case.
-- params: window_starts, window_ends, accounts, indicator_ips, indicator_clients, decision_keys,
--         decision_verdicts, decision_justifications, decision_by
-- reads: nothing
-- writes: incident_accounts, incident_client_matches, incident_decisions, incident_ip_matches, incident_windows
-- order: window_no; account_id; value; decision key
-- assumptions: windows are half-open [start_utc, end_utc); indicators were matched in Python against
--              the distinct addresses and clients of the compromised accounts (bound here as lists); an analyst's
--              decision names a segment key or a session key, with its verdict and justification.
CREATE OR REPLACE TABLE incident_windows AS
SELECT i AS window_no, CAST($window_starts[i] AS TIMESTAMPTZ) AS start_utc,
       CAST($window_ends[i] AS TIMESTAMPTZ) AS end_utc
FROM range(1, len($window_starts) + 1) r(i)
ORDER BY window_no;
CREATE OR REPLACE TABLE incident_accounts AS
SELECT DISTINCT unnest($accounts) AS account_id ORDER BY account_id;
CREATE OR REPLACE TABLE incident_ip_matches AS
SELECT DISTINCT unnest($indicator_ips) AS src_ip ORDER BY src_ip;
CREATE OR REPLACE TABLE incident_client_matches AS
SELECT DISTINCT unnest($indicator_clients) AS user_agent ORDER BY user_agent;
CREATE OR REPLACE TABLE incident_decisions AS
SELECT unnest(CAST($decision_keys AS VARCHAR[])) AS decision_key,
       unnest(CAST($decision_verdicts AS VARCHAR[])) AS verdict,
       unnest(CAST($decision_justifications AS VARCHAR[])) AS justification,
       unnest(CAST($decision_by AS VARCHAR[])) AS decided_by
ORDER BY decision_key;
