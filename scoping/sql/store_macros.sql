-- question: how is an instant written in every output (one definition, used by every export query), and how is
--           an address written in the store (one definition, applied to every source at ingest)?
-- params: none
-- reads: nothing
-- writes: iso_utc, ip_normal, ip_v6_groups, ip_v6_text (temporary macros of the connection)
-- order: not applicable (a macro)
-- assumptions: instants are TIMESTAMPTZ in UTC; written as ISO 8601 with the offset +00:00, to the second, and
--   with the log's sub-second digits when it has any (trailing zeros dropped: .123, not .123000).
CREATE OR REPLACE TEMP MACRO iso_utc(t) AS
  strftime(t, '%Y-%m-%dT%H:%M:%S')
  || CASE WHEN microsecond(t) % 1000000 = 0 THEN ''
          ELSE rtrim('.' || lpad(CAST(microsecond(t) % 1000000 AS VARCHAR), 6, '0'), '0') END
  || '+00:00';


-- An address as scoping stores it (events.src_ip; the logged text is kept in src_ip_raw): surrounding spaces
-- removed, a port removed (203.0.113.9:443, [2001:db8::1]:443), brackets removed ([2001:db8::1]), an
-- IPv4-mapped IPv6 address unwrapped (::ffff:203.0.113.9 and ::ffff:cb00:7109 are 203.0.113.9), and IPv6 written
-- as RFC 5952 says (lower case, no leading zeros, the first longest run of two or more zero groups as ::), so that
-- an address compares equal to itself however the log wrote it. Anything else is kept as written, trimmed.
-- (`list_transform([v], lambda a: ...)[1]` names a value once, so that it is not copied into every use.)
CREATE OR REPLACE TEMP MACRO ip_v6_groups(v) AS list_transform([
  -- a trailing dotted IPv4 (::ffff:203.0.113.9) becomes its two hex groups
  CASE WHEN regexp_full_match(v, '[0-9a-f:]*:((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])')
       THEN list_transform([string_split(regexp_extract(v, '[0-9.]+$'), '.')], lambda o:
              regexp_replace(v, '[0-9.]+$', '') || printf('%x:%x', CAST(o[1] AS INTEGER) * 256 + CAST(o[2] AS INTEGER),
                                                                   CAST(o[3] AS INTEGER) * 256 + CAST(o[4] AS INTEGER)))[1]
       ELSE v END], lambda a:
  -- the eight groups, without leading zeros; NULL when the text is not an IPv6 address
  CASE WHEN NOT regexp_full_match(a, '[0-9a-f:]+') OR contains(a, ':::') OR len(string_split(a, '::')) > 2
         OR (starts_with(a, ':') AND NOT starts_with(a, '::')) OR (ends_with(a, ':') AND NOT ends_with(a, '::'))
       THEN NULL
       ELSE list_transform([CASE WHEN contains(a, '::')
                                 THEN [list_filter(string_split(split_part(a, '::', 1), ':'), lambda x: x <> ''),
                                       list_filter(string_split(split_part(a, '::', 2), ':'), lambda x: x <> '')]
                                 ELSE [string_split(a, ':'), NULL] END], lambda p:
              list_transform([CASE WHEN p[2] IS NULL AND len(p[1]) = 8 THEN p[1]
                                   WHEN p[2] IS NOT NULL AND len(p[1]) + len(p[2]) <= 7
                                     THEN list_concat(p[1], list_transform(range(8 - len(p[1]) - len(p[2])),
                                                                           lambda z: '0'), p[2]) END], lambda q:
                CASE WHEN q IS NOT NULL AND len(list_filter(q, lambda x: NOT regexp_full_match(x, '[0-9a-f]{1,4}'))) = 0
                     THEN list_transform(q, lambda x: coalesce(nullif(ltrim(x, '0'), ''), '0')) END)[1])[1]
  END)[1];
CREATE OR REPLACE TEMP MACRO ip_v6_text(v) AS list_transform([v], lambda g:
  CASE WHEN g IS NULL THEN NULL
       WHEN g[1:5] = ['0', '0', '0', '0', '0'] AND g[6] = 'ffff'
         THEN printf('%d.%d.%d.%d', CAST('0x' || g[7] AS INTEGER) // 256, CAST('0x' || g[7] AS INTEGER) % 256,
                     CAST('0x' || g[8] AS INTEGER) // 256, CAST('0x' || g[8] AS INTEGER) % 256)
       ELSE list_transform([list_transform(range(1, 9), lambda i:
                              coalesce(list_position(list_transform(g[i:], lambda x: x <> '0'), true) - 1, 9 - i))],
              lambda runs: CASE WHEN list_max(runs) < 2 THEN array_to_string(g, ':')
                                ELSE array_to_string(g[1:list_position(runs, list_max(runs)) - 1], ':') || '::'
                                     || array_to_string(g[list_position(runs, list_max(runs)) + list_max(runs):], ':')
                           END)[1]
  END)[1];
CREATE OR REPLACE TEMP MACRO ip_normal(x) AS
  CASE WHEN x IS NULL THEN NULL
       WHEN NOT contains(x, ':') AND NOT contains(x, '[') AND NOT contains(x, ' ') THEN nullif(x, '')
       ELSE list_transform([trim(x)], lambda t:
         CASE WHEN regexp_full_match(t, '\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?')
                THEN coalesce(ip_v6_text(ip_v6_groups(lower(regexp_extract(t, '\[([0-9A-Fa-f:.]+)\]', 1)))), t)
              WHEN regexp_full_match(t, '([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]{1,5}') THEN split_part(t, ':', 1)
              WHEN regexp_full_match(t, '[0-9A-Fa-f:.]+') AND contains(t, ':')
                THEN coalesce(ip_v6_text(ip_v6_groups(lower(t))), t)
              ELSE nullif(t, '') END)[1] END;
