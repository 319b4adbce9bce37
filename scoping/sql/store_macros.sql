-- question: how is an instant written in every output? (one definition, used by every export query)
-- params: none
-- reads: nothing
-- writes: iso_utc (a temporary macro of the connection)
-- order: not applicable (a macro)
-- assumptions: instants are TIMESTAMPTZ in UTC; written as ISO 8601 with the offset +00:00, to the second, and
--   with the log's sub-second digits when it has any (trailing zeros dropped: .123, not .123000).
CREATE OR REPLACE TEMP MACRO iso_utc(t) AS
  strftime(t, '%Y-%m-%dT%H:%M:%S')
  || CASE WHEN microsecond(t) % 1000000 = 0 THEN ''
          ELSE rtrim('.' || lpad(CAST(microsecond(t) % 1000000 AS VARCHAR), 6, '0'), '0') END
  || '+00:00';
