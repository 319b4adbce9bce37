"""Compiling a source's mapping (case.toml) into one DuckDB statement.

The query reads the numbered raw lines of one evidence file and produces one row per line: either the
canonical columns, or a quarantine reason. Everything is read as text and cast in visible SQL; source field
names pass through `quote_ident`, every configured value (regexes, value maps, formats, time zones, null
markers) is a bound parameter. The compiled text and its hash are stored in the case (`mappings` table) so an
auditor reads exactly what ran. `scoping.mapping_fields` turns a line into its fields; this module turns the
fields into the canonical columns:

- every canonical column, `ts`, `event_key` and `session_id` included, comes from a field, a constant or an
  expression over any fields (`scoping.expressions`);
- the patients of an event: a rule's capture is one value, never split; a field holding a JSON array (a
  result page) gives one patient per element; a field with `patient_separator` is split. Patients that came
  from a list make the category `patient_list` when nothing else set one;
- `content_digest` (the first 64 bits of the SHA-256 of the normalised record) tells a duplicate (same key,
  same content) from a conflict (same key, other content); the key of a line without one is the first 128 bits
  of that hash, as hex.
"""

from __future__ import annotations

import re

from . import expressions
from .config import Source
from .mapping_fields import Compiled, field_ref, json_path, parquet_fields, text_fields, type_ref
from .queries import quote_ident
from .schema import ACTIONS, CATEGORIES, OUTCOMES

__all__ = ["Compiled", "compile_source"]

# iso8601: a date, a time, then nothing, or a zone written as Z, UTC, GMT (offset 0) or a numeric offset;
# any other text after the time is never dropped (DuckDB's casts would ignore it, or read a zone name as ICU does)
_ISO_DATETIME = r"^([0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?)"
_ISO_RE = _ISO_DATETIME + r" ?(Z|z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
_ISO_TRAILING = "text after the time that is not Z, UTC, GMT or a numeric offset"


def _value(src: Source, col: str, c: Compiled, *, trim: bool = True) -> str | None:
    """Text SQL for a canonical column fed by a field (with null markers), an expression or a constant."""
    expr = dict(src.expressions).get(col)
    if expr is not None:  # fields are substituted by their quoted identifiers; the rest was checked at load
        return f"nullif(trim(CAST((\n{expressions.substitute(expr, field_ref)}\n) AS VARCHAR)), '')"
    fld = src.column(col)
    if fld is not None:
        nulls = c.bind(list(src.null_values))
        if trim:
            return f"CASE WHEN list_contains({nulls}, {field_ref(fld)}) THEN NULL " \
                   f"ELSE nullif(trim({field_ref(fld)}), '') END"
        return f"CASE WHEN list_contains({nulls}, {field_ref(fld)}) OR trim({field_ref(fld)}) = '' THEN NULL " \
               f"ELSE {field_ref(fld)} END"
    const = dict(src.constants).get(col)
    if const is not None:
        return c.bind(const)
    return None


def _mapped(expr: str | None, src: Source, col: str, c: Compiled) -> str | None:
    vmap = src.value_map(col)
    if expr is None or not vmap:
        return expr
    keys, vals = c.bind(list(vmap)), c.bind(list(vmap.values()))
    return f"coalesce({vals}[list_position({keys}, {expr})], {expr})"


def _rule_column(src: Source, col: str, fallback: str | None, c: Compiled,
                 matches: list[str]) -> tuple[str | None, str | None]:
    """First matching rule that sets or captures `col`, else the fallback; plus which rule fired."""
    branches, names = [], []
    for i, rule in enumerate(src.rules):
        value = dict(rule.set).get(col)
        expr = c.bind(value) if value is not None else None
        if expr is None:
            for fld, pattern in rule.when:
                group = re.compile(pattern).groupindex.get(col)
                if group:
                    expr = f"nullif(regexp_extract({field_ref(fld)}, {c.bind(pattern)}, {group}), '')"
                    break
        if expr is not None:
            branches.append(f"WHEN {matches[i]} THEN {expr}")
            label = rule.link if col == "patient_id" and rule.link else "rule:" + rule.name
            names.append(f"WHEN {matches[i]} THEN {c.bind(label)}")
    if not branches:
        return fallback, None
    tail = f" ELSE {fallback}" if fallback else ""
    return f"CASE {' '.join(branches)}{tail} END", f"CASE {' '.join(names)} END"


def _timestamp(src: Source, c: Compiled) -> tuple[str, str]:
    """SQL for (instant when the text carries an offset, naive local time when it does not). An iso8601 stamp
    is a date and time followed by nothing or by Z, UTC, GMT or a numeric offset; anything else is unread."""
    fmt = src.ts_format
    if fmt == "epoch_s":
        return "to_timestamp(try_cast(ts_text AS DOUBLE))", "NULL::TIMESTAMP"
    if fmt == "epoch_ms":
        return "epoch_ms(try_cast(ts_text AS BIGINT))::TIMESTAMPTZ", "NULL::TIMESTAMP"
    if fmt == "iso8601":
        iso = c.bind(_ISO_RE)
        when, zone = f"regexp_extract(ts_text, {iso}, 1)", f"regexp_extract(ts_text, {iso}, 2)"
        offset = f"CASE WHEN {zone} IN ('Z', 'z', 'UTC', 'GMT') THEN '+00:00' ELSE {zone} END"
        return (f"CASE WHEN {zone} <> '' THEN try_cast({when} || {offset} AS TIMESTAMPTZ) END",
                f"CASE WHEN {when} <> '' AND {zone} = '' THEN try_cast({when} AS TIMESTAMP) END")
    f = c.bind(fmt)
    if "%z" in fmt or "%Z" in fmt:
        return f"try_strptime(ts_text, {f})::TIMESTAMPTZ", "NULL::TIMESTAMP"
    return "NULL::TIMESTAMPTZ", f"try_strptime(ts_text, {f})::TIMESTAMP"


def _rule_fields(src: Source) -> list[str]:
    """The fields the rules that classify the action read (every rule's fields when none does): what a
    request was, as the log wrote it, when no rule says what it did."""
    chosen = [r for r in src.rules if "action" in dict(r.set)
              or any("action" in re.compile(p).groupindex for _, p in r.when)] or list(src.rules)
    return list(dict.fromkeys(f for r in chosen for f, _ in r.when))


OBJECTS_FLAG = "holds objects, name the member holding the patient id"  # in record_flags: said by ingest
ENCODED_LIST = "patient list written as a string (a JSON array inside a JSON string), not read as patient ids"


def _patients(src: Source, c: Compiled, patient_rule: str | None) -> tuple[str, str, str, str, str, str]:
    """SQL for the patients list and how they were found: (captured by a rule, the value is a JSON array, the
    patients came from a list, the list, a flag for list elements that are not ids, whether the value is a JSON
    array written as a JSON string). The first two read the fields (the `canon` step); the others read those.

    The elements of a list are ids, or objects whose member `patient_id = "results[].id"` names; a list of
    objects with no member named gives no patient and is flagged (ingest and the dry run say so), never read
    as ids. A JSON-lines or Parquet string that holds a JSON array ('["A3","B3"]', a list encoded twice) is not
    guessed at: the line is quarantined (`ENCODED_LIST`)."""
    sep = c.bind(src.patient_separator) if src.patient_separator else "NULL::VARCHAR"
    pfield = src.column("patient_id")
    member = src.patient_member
    json_typed = bool(pfield and src.format in ("jsonl", "parquet"))
    typed = f"coalesce({type_ref(pfield)} = 'ARRAY', false)" if json_typed and pfield \
        else "(CASE WHEN starts_with(patient_text, '[') AND json_valid(patient_text) " \
             "THEN json_type(patient_text) = 'ARRAY' ELSE false END)"
    captured = f"({patient_rule}) IS NOT NULL" if patient_rule else "false"
    elements = "from_json(patient_text, '[\"JSON\"]')"
    mpath = c.bind(json_path(member)) if member else None
    from_object = f"WHEN json_type(e) = 'OBJECT' THEN nullif(trim(json_extract_string(e, {mpath})), '')\n" \
                  f"                                 " if mpath else ""
    is_list = f"(NOT patient_captured AND patient_text IS NOT NULL AND (patient_array OR ({sep} IS NOT NULL " \
              f"AND contains(patient_text, {sep}))))"
    patients = f"""CASE WHEN patient_text IS NULL THEN [NULL::VARCHAR]
           WHEN patient_captured THEN [patient_text]
           WHEN patient_array THEN coalesce(nullif(list_filter(list_distinct(list_transform({elements},
                  lambda e: CASE {from_object}WHEN json_type(e) NOT IN ('OBJECT', 'ARRAY')
                                 THEN nullif(trim(json_extract_string(e, '$')), '') END)),
                  lambda p: p IS NOT NULL), []), [NULL::VARCHAR])
           WHEN {sep} IS NOT NULL AND contains(patient_text, {sep})
             THEN coalesce(nullif(list_filter(list_distinct(list_transform(
                    string_split(patient_text, {sep}), lambda p: nullif(trim(p), ''))),
                    lambda p: p IS NOT NULL), []), [NULL::VARCHAR])
           ELSE [patient_text] END"""
    if mpath:
        objects = f"""WHEN len(list_filter({elements}, lambda e: json_type(e) = 'OBJECT'
                                          AND nullif(trim(json_extract_string(e, {mpath})), '') IS NULL)) > 0
                  THEN {c.bind(f'patient list holds objects without a member {member}')}"""
    else:
        objects = f"""WHEN len(list_filter({elements}, lambda e: json_type(e) = 'OBJECT')) > 0
                  THEN {c.bind(f'field {pfield} {OBJECTS_FLAG} (patient_id = "{pfield}[].MEMBER")')}"""
    flag = f"""CASE WHEN patient_text IS NOT NULL AND NOT patient_captured AND patient_array THEN
             CASE {objects}
                  WHEN len(list_filter({elements}, lambda e: json_type(e) = 'ARRAY')) > 0
                  THEN 'patient list holds values that are not ids' END END"""
    encoded = "(NOT patient_captured AND NOT patient_array AND starts_with(patient_text, '[') " \
              "AND json_valid(patient_text) AND json_type(patient_text) = 'ARRAY')" if json_typed else "false"
    return captured, typed, is_list, patients, flag, encoded


def compile_source(src: Source, *, header: list[str] | None, input_sql: str, diagnostics: bool = False,
                   repair: bool = False, max_line_bytes: int = 16 * 1024 * 1024) -> Compiled:
    """The query mapping one batch of an evidence file of `src` to one row per line (canonical or problem).

    The header of a CSV file, or the columns of a Parquet file, names the fields the mapping may read. With
    `diagnostics`, each row also carries `rule_hits`, which rules matched it (for `ingest --dry-run`); `repair`
    is the variant for JSON records with a repeated key (see `scoping.mapping_fields`). A staged row stands for
    the lines source_line..source_line_end (a run of identical lines); one staged by its first bytes only
    (`oversize`, longer than `max_line_bytes`) is quarantined, whatever its first bytes say."""
    c = Compiled(sql="")
    pfield = src.column("patient_id")
    typed = {pfield} if pfield and src.format in ("jsonl", "parquet") else set()
    if src.format == "parquet":
        fields_cte = parquet_fields(src, input_sql, typed, header or [])
        decoded = ""
    else:
        decoded = f"""
  decoded AS (
    SELECT source_line, source_line_end, oversize, raw,
      CASE WHEN ends_with(t, chr(13)) THEN t[:-2] ELSE t END AS txt
    FROM (SELECT source_line, source_line_end, oversize, raw, try(decode(raw)) AS t FROM {input_sql})
  ),"""
        fields_cte = text_fields(src, c, header, typed, repair=repair)
    # each rule is tested once per line (a column of `ruled`), whatever number of columns it sets
    tests = []
    for i, rule in enumerate(src.rules):
        conds = [f"coalesce(regexp_matches({field_ref(fld)}, {c.bind(p)}), false)" for fld, p in rule.when]
        tests.append(f"{' AND '.join(conds)} AS {quote_ident(f'rule:{i + 1}')}")
    matches = [quote_ident(f"rule:{i + 1}") for i in range(len(src.rules))]
    ruled = f"""
  ruled AS (
    SELECT *{''.join(f",{chr(10)}      {t}" for t in tests)}
    FROM fields
  ),"""

    def col(name: str) -> str:
        expr = _mapped(_value(src, name, c, trim=name != "src_ip"), src, name, c)
        out, _ = _rule_column(src, name, expr, c, matches)
        return out or "NULL::VARCHAR"

    _, action_rule = _rule_column(src, "action", None, c, matches)
    rule_fields = _rule_fields(src)
    request = f"nullif(concat_ws(' ', {', '.join(field_ref(f) for f in rule_fields)}), '')" if rule_fields else None
    raw_action = [v for v in (_value(src, "action_raw", c), _value(src, "action", c), action_rule, request) if v]
    patient_expr, patient_rule = _rule_column(src, "patient_id", _value(src, "patient_id", c), c, matches)
    captured, is_array, is_list, patients, list_flag, encoded = _patients(src, c, patient_rule)
    patient_link = (f"CASE WHEN patient_text IS NULL THEN NULL ELSE coalesce({patient_rule or 'NULL'}, "
                    f"{c.bind('field:' + pfield) if pfield else 'NULL'}, 'constant') END")
    key = _value(src, "event_key", c)
    key_expr = f"{c.bind(src.name + ':')} || {key}" if key else "'sha256:' || left(content_sha, 32)"
    instant, naive = _timestamp(src, c)
    # an iso8601 stamp that starts right and ends with other text says so (a reason has no ':' before the value)
    trailing = f"CASE WHEN regexp_matches(ts_text, {c.bind(_ISO_DATETIME)}) AND NOT regexp_matches(ts_text, " \
               f"{c.bind(_ISO_RE)}) THEN {c.bind(' (' + _ISO_TRAILING + ')')} ELSE '' END" \
        if src.ts_format == "iso8601" else "''"
    tz = c.bind(src.timezone) if src.timezone else "NULL"
    max_line = c.bind(max_line_bytes)
    enums = {k: _literal_list(v) for k, v in (("a", ACTIONS), ("c", CATEGORIES), ("o", OUTCOMES))}
    # With a time zone, `keyed` is read twice (the distinct local hours, then every row): computed once, not
    # twice (inlined, DuckDB would split and map every line a second time for the hours alone).
    keyed_mode = "MATERIALIZED " if src.timezone else ""
    hits = f",\n      [{', '.join(matches)}] AS rule_hits" if diagnostics and matches else \
        ",\n      []::BOOLEAN[] AS rule_hits" if diagnostics else ""
    c.sql = f"""WITH RECURSIVE{decoded}{fields_cte},{ruled}
  canon AS (
    SELECT source_line, source_line_end, oversize, raw, txt, problem, parse_flags,
      CASE WHEN problem IS NULL THEN sha256(content) END AS content_sha,
      {_value(src, "ts", c) or "NULL::VARCHAR"} AS ts_text,
      {col("account_id")} AS account_id,
      {col("session_id")} AS session_id,
      {col("src_ip")} AS src_ip,
      {col("user_agent")} AS user_agent,
      {col("action")} AS action_value,
      {f"coalesce({', '.join(raw_action)})" if raw_action else "NULL::VARCHAR"} AS action_raw,
      {col("category")} AS category_value,
      {patient_expr or 'NULL::VARCHAR'} AS patient_text,
      {patient_link} AS patient_link,
      {col("outcome")} AS outcome_value,
      {col("resource_type")} AS resource_type,
      {col("resource_id")} AS resource_id,
      {key_expr} AS key_value,
      {captured} AS patient_captured,
      {is_array} AS patient_array{hits}
    FROM ruled
  ),
  keyed AS {keyed_mode}(
    SELECT *, {is_list} AS from_list, {list_flag} AS list_flag,
      {instant} AS ts_offset, {naive} AS ts_local
    FROM canon
  ),
  -- local wall times are converted once per distinct local hour (clocks change on the hour), and an
  -- hour that happens twice or never on the night the clocks change is flagged
  hours AS (
    SELECT DISTINCT date_trunc('hour', ts_local) AS hour_local FROM keyed
    WHERE ts_local IS NOT NULL AND {tz} IS NOT NULL
  ),
  hour_info AS (
    SELECT hour_local, timezone({tz}, hour_local) AS hour_utc,
      CASE WHEN timezone({tz}, timezone({tz}, hour_local)) <> hour_local THEN 'dst_nonexistent'
           WHEN timezone({tz}, timezone({tz}, hour_local) + INTERVAL 1 HOUR) = hour_local
             OR timezone({tz}, timezone({tz}, hour_local) - INTERVAL 1 HOUR) = hour_local THEN 'dst_ambiguous'
      END AS flag
    FROM hours
  ),
  timed AS (
    SELECT t.*, coalesce(t.ts_offset, h.hour_utc + (t.ts_local - h.hour_local)) AS ts, h.flag AS ts_flag,
      t.ts_offset IS NULL AND t.ts_local IS NOT NULL AS ts_no_offset
    FROM keyed t LEFT JOIN hour_info h ON h.hour_local = date_trunc('hour', t.ts_local)
  ),
  checked AS (
    SELECT *, coalesce(
        CASE WHEN oversize IS NOT NULL
             THEN 'line longer than ' || {max_line} || ' bytes: ' || oversize || ' bytes' END,
        problem,
        CASE WHEN ts_text IS NULL THEN 'missing timestamp'
             WHEN ts_no_offset AND {tz} IS NULL AND ts_local IS NOT NULL THEN 'timestamp without offset'
             WHEN ts IS NULL THEN 'bad timestamp' || {trailing} || ': ' || left(ts_text, 64)
             WHEN account_id IS NULL THEN 'missing account'
             WHEN key_value IS NULL THEN 'missing event key'
             WHEN {encoded} THEN {c.bind(ENCODED_LIST + ': ')} || left(patient_text, 64)
        END) AS reason
    FROM timed
  ),
  final AS (
    -- the raw text is kept only where a quarantine row needs it
    SELECT source_line, source_line_end, CASE WHEN reason IS NOT NULL THEN raw END AS raw,
      CASE WHEN reason IS NOT NULL THEN txt END AS txt, reason AS problem,
      key_value AS event_key,
      CASE WHEN reason IS NULL THEN CAST('0x' || left(content_sha, 16) AS UBIGINT) END AS content_digest,
      ts, ts_text AS ts_raw, ts_flag, account_id, session_id, src_ip, user_agent,
      CASE WHEN action_value IN {enums['a']} THEN action_value ELSE 'other' END AS action,
      coalesce(action_raw, action_value) AS action_raw,
      CASE WHEN category_value IN {enums['c']} THEN category_value
           WHEN from_list THEN 'patient_list' ELSE 'unknown' END AS category,
      {patients} AS patients,
      patient_link,
      CASE WHEN outcome_value IN {enums['o']} THEN outcome_value ELSE 'unknown' END AS outcome,
      resource_type, resource_id,
      nullif(concat_ws('; ', parse_flags, list_flag), '') AS record_flags{", rule_hits" if diagnostics else ""}
    FROM checked
  )
SELECT * FROM final"""
    # Drop values bound while composing branches that did not make it into the final text.
    c.params = {k: v for k, v in c.params.items() if re.search(rf"\${k}(?!\w)", c.sql)}
    return c


def _literal_list(values: tuple[str, ...]) -> str:
    """scoping's own vocabulary (never user input) as a SQL IN-list."""
    assert all(v.replace("_", "").isalnum() for v in values)
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"

