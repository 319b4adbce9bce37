-- question: store the incident being scoped (windows in UTC, compromised accounts, matched indicators)
--           in the case store, so the store holds the whole case.
-- params: window_starts, window_ends, accounts, indicator_ips, indicator_clients
-- reads: nothing
-- writes: incident_accounts, incident_client_matches, incident_ip_matches, incident_windows
-- order: window_no; account_id; value
-- assumptions: windows are half-open [start_utc, end_utc); indicators were matched in Python against
--              the distinct addresses and clients of the compromised accounts (bound here as lists).
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
