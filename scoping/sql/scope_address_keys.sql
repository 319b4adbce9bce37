-- question: under which network key is each address of the compromised accounts compared? (one spelling per
--           address: IPv4-mapped IPv6 as IPv4, a port dropped, IPv6 by its /64, computed by scope.address_key)
-- params: addresses, keys
-- reads: nothing
-- writes: incident_address_keys
-- order: src_ip
-- assumptions: the keys were computed in Python with the standard ipaddress module (DuckDB's inet extension is not
--   available offline) for every distinct address the baseline and the events read hold; a value that is not an
--   address is its own key.
CREATE OR REPLACE TABLE incident_address_keys AS
SELECT unnest(CAST($addresses AS VARCHAR[])) AS src_ip, unnest(CAST($keys AS VARCHAR[])) AS net_key
ORDER BY src_ip;
