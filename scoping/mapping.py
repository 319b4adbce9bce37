"""Compiling a source's mapping (case.toml) into one DuckDB statement.

The query reads the numbered raw lines of one evidence file and produces one row per line:
either the canonical columns, or a quarantine reason. Everything is read as text and cast in
visible SQL; source field names pass through `quote_ident`, every configured value (regexes,
value maps, formats, time zones, null markers) is a bound parameter. The compiled text and its
hash are stored in the case (`mappings` table) so an auditor reads exactly what ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .config import FIELD_REF, Source
from .errors import ConfigError
from .queries import quote_ident
from .schema import ACTIONS, CATEGORIES, OUTCOMES

_OFFSET_RE = r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any, prefix: str = "p") -> str:
        name = f"{prefix}{len(self.params)}"
        self.params[name] = value
        return f"${name}"


def _json_path(name: str) -> str:
    if name.startswith("$"):
        return name
    return "$." + ".".join('"' + p.replace('"', '\\"') + '"' for p in name.split("."))


def needed_fields(src: Source) -> list[str]:
    """Every source field the mapping reads, in a stable order."""
    seen: dict[str, None] = {}
    for _, f in src.columns:
        seen[f] = None
    for _, expr in src.expressions:
        for f in FIELD_REF.findall(expr):
            seen[f] = None
    for rule in src.rules:
        for f, _ in rule.when:
            seen[f] = None
    return list(seen)


def _field_ref(name: str) -> str:
    return quote_ident("f:" + name)


def _parse_text_fields(src: Source, c: Compiled, header: list[str] | None) -> str:
    """SQL (a CTE body) turning raw lines into a problem column and one text column per field."""
    fields = needed_fields(src)
    if src.format == "jsonl":
        paths = c.bind([_json_path(f) for f in fields] or ["$.__none__"])
        cols = ",\n    ".join(f"vals[{i + 1}] AS {_field_ref(f)}" for i, f in enumerate(fields))
        return f"""
  parsed AS (
    SELECT source_line, raw, txt,
      CASE WHEN txt IS NULL THEN 'invalid UTF-8'
           WHEN trim(txt) = '' THEN 'empty line'
           WHEN j IS NULL THEN 'unparseable JSON record'
           WHEN json_type(j) <> 'OBJECT' THEN 'JSON record is not an object'
      END AS problem,
      CASE WHEN problem IS NULL THEN json_extract_string(j, {paths}) END AS vals
    FROM (SELECT *, CASE WHEN txt IS NOT NULL AND json_valid(txt) THEN txt END AS j FROM decoded)
  ),
  fields AS (
    SELECT source_line, raw, txt, problem{"," if cols else ""}
    {cols}
    FROM parsed
  )"""
    assert header is not None
    index = {name: i for i, name in enumerate(header)}
    missing = [f for f in fields if f not in index]
    if missing:
        raise ConfigError(f"[sources.{src.name}] reads field(s) {', '.join(map(repr, missing))} "
                          f"that the file does not have",
                          hint=f"the file's columns are: {', '.join(header)}")
    d = c.bind(src.delimiter)
    q = src.quote or "\x00"
    qb = c.bind(q)
    pattern = c.bind(f"{re.escape(src.delimiter)}({re.escape(q)}(?:[^{re.escape(q)}]|{re.escape(q * 2)})*"
                     f"{re.escape(q)}|[^{re.escape(src.delimiter)}]*)")
    ncols = c.bind(len(header))
    cols = ",\n    ".join(f"cells[{index[f] + 1}] AS {_field_ref(f)}" for f in fields)
    start = 2 if src.header else 1
    # Quoted lines are split on the quote character: outside segments hold delimiter-separated fields,
    # inside segments are whole fields. Lines with an escaped quote ("") inside a field take the slower
    # regular-expression path. Either way the result is unquoted text, one cell per field.
    return f"""
  split AS (
    SELECT source_line, raw, txt,
      CASE WHEN txt IS NULL OR trim(txt) = '' THEN NULL ELSE string_split(txt, {qb}) END AS segs
    FROM decoded WHERE source_line >= {start}
  ),
  shaped AS (
    SELECT *,
      CASE WHEN segs IS NULL THEN NULL
           WHEN len(segs) = 1 THEN 'plain'
           WHEN len(segs) % 2 = 0 THEN 'unbalanced'
           WHEN len(list_filter(range(3, len(segs), 2), lambda i: segs[i] = '')) > 0 THEN 'escaped'
           WHEN (segs[1] <> '' AND NOT ends_with(segs[1], {d}))
             OR (segs[-1] <> '' AND NOT starts_with(segs[-1], {d}))
             OR len(list_filter(range(3, len(segs), 2),
                    lambda i: NOT starts_with(segs[i], {d}) OR NOT ends_with(segs[i], {d}))) > 0
             THEN 'unbalanced'
           ELSE 'quoted' END AS shape
    FROM split
  ),
  celled AS (
    SELECT *,
      CASE WHEN shape = 'plain' THEN string_split(txt, {d})
           WHEN shape = 'quoted' THEN flatten(list_transform(range(1, len(segs) + 1), lambda i:
             CASE WHEN i % 2 = 0 THEN [segs[i]]
                  ELSE string_split(segs[i], {d})[CASE WHEN i = 1 THEN 1 ELSE 2 END:
                                                   CASE WHEN i = len(segs) THEN -1 ELSE -2 END] END))
           WHEN shape = 'escaped' THEN regexp_extract_all({d} || txt, {pattern}, 1)
      END AS raw_cells
    FROM shaped
  ),
  parsed AS (
    SELECT *,
      CASE WHEN shape = 'escaped'
           THEN list_transform(raw_cells, lambda v: CASE WHEN starts_with(v, {qb})
                                                         THEN replace(v[2:-2], {qb} || {qb}, {qb}) ELSE v END)
           ELSE raw_cells END AS cells,
      CASE WHEN txt IS NULL THEN 'invalid UTF-8'
           WHEN trim(txt) = '' THEN 'empty line'
           WHEN shape = 'unbalanced' THEN 'malformed quoting'
           WHEN shape = 'escaped' AND array_to_string(raw_cells, {d}) <> txt THEN 'malformed quoting'
           WHEN len(raw_cells) <> {ncols} THEN 'wrong number of fields: ' || len(raw_cells) || ' instead of '
                                               || {ncols}
      END AS problem
    FROM celled
  ),
  fields AS (
    SELECT source_line, raw, txt, problem{"," if cols else ""}
    {cols}
    FROM parsed
  )"""


def _value(src: Source, col: str, c: Compiled) -> str | None:
    """Text SQL for a canonical column fed by a field (with null markers), an expression or a constant."""
    expr = dict(src.expressions).get(col)
    if expr is not None:  # fields are substituted by their quoted identifiers; the rest was checked at load
        return f"nullif(trim(CAST(({FIELD_REF.sub(lambda m: _field_ref(m.group(1)), expr)}) AS VARCHAR)), '')"
    fld = src.column(col)
    if fld is not None:
        return f"CASE WHEN list_contains({c.bind(list(src.null_values))}, {_field_ref(fld)}) THEN NULL " \
               f"ELSE trim({_field_ref(fld)}) END"
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
                    expr = f"nullif(regexp_extract({_field_ref(fld)}, {c.bind(pattern)}, {group}), '')"
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
    """SQL for (instant when the text carries an offset, naive local time when it does not)."""
    fmt = src.ts_format
    if fmt == "epoch_s":
        return "to_timestamp(try_cast(ts_text AS DOUBLE))", "NULL::TIMESTAMP"
    if fmt == "epoch_ms":
        return "epoch_ms(try_cast(ts_text AS BIGINT))::TIMESTAMPTZ", "NULL::TIMESTAMP"
    if fmt == "iso8601":
        off = c.bind(_OFFSET_RE)
        return (f"CASE WHEN regexp_matches(ts_text, {off}) THEN try_cast(ts_text AS TIMESTAMPTZ) END",
                f"CASE WHEN NOT regexp_matches(ts_text, {off}) THEN try_cast(ts_text AS TIMESTAMP) END")
    f = c.bind(fmt)
    if "%z" in fmt or "%Z" in fmt:
        return f"try_strptime(ts_text, {f})::TIMESTAMPTZ", "NULL::TIMESTAMP"
    return "NULL::TIMESTAMPTZ", f"try_strptime(ts_text, {f})::TIMESTAMP"


def compile_source(src: Source, *, header: list[str] | None, input_sql: str) -> Compiled:
    """The query mapping one batch of an evidence file of `src` to one row per line (canonical or problem)."""
    c = Compiled(sql="")
    if src.format == "parquet":
        fields_cte = _parquet_fields(src, input_sql)
        decoded = ""
    else:
        decoded = f"""
  decoded AS (
    SELECT source_line, raw,
      CASE WHEN ends_with(t, chr(13)) THEN t[:-2] ELSE t END AS txt
    FROM (SELECT source_line, raw, try(decode(raw)) AS t FROM {input_sql})
  ),"""
        fields_cte = _parse_text_fields(src, c, header)
    matches = []
    for rule in src.rules:
        conds = [f"coalesce(regexp_matches({_field_ref(fld)}, {c.bind(p)}), false)" for fld, p in rule.when]
        matches.append("(" + " AND ".join(conds) + ")")

    def col(name: str) -> str:
        expr = _mapped(_value(src, name, c), src, name, c)
        out, _ = _rule_column(src, name, expr, c, matches)
        return out or "NULL::VARCHAR"

    action_expr = col("action")
    _, action_rule = _rule_column(src, "action", None, c, matches)
    raw_action = _value(src, "action_raw", c) or _value(src, "action", c)
    action_raw = f"coalesce({raw_action or 'NULL::VARCHAR'}, {action_rule or 'NULL::VARCHAR'})"
    patient_value = _value(src, "patient_id", c)
    patient_expr, patient_rule = _rule_column(src, "patient_id", patient_value, c, matches)
    pfield = src.column("patient_id")
    patient_link = (f"CASE WHEN patient_text IS NULL THEN NULL ELSE coalesce({patient_rule or 'NULL'}, "
                    f"{c.bind('field:' + pfield) if pfield else 'NULL'}, 'constant') END")
    sep = c.bind(src.patient_separator) if src.patient_separator else "NULL"
    key_field = src.column("event_key")
    key_expr = (f"{c.bind(src.name + ':')} || {_value(src, 'event_key', c)}" if key_field
                else "'sha256:' || left(sha256(txt), 32)")
    instant, naive = _timestamp(src, c)
    tz = c.bind(src.timezone) if src.timezone else "NULL"
    ts_field = src.column("ts")
    ts_text = _value(src, "ts", c) if ts_field else "NULL::VARCHAR"
    enums = {k: _literal_list(v) for k, v in (("a", ACTIONS), ("c", CATEGORIES), ("o", OUTCOMES))}
    c.sql = f"""WITH{decoded}{fields_cte},
  canon AS (
    SELECT source_line, raw, txt, problem,
      {ts_text} AS ts_text,
      {col("account_id")} AS account_id,
      {col("session_id")} AS session_id,
      {col("src_ip")} AS src_ip,
      {col("user_agent")} AS user_agent,
      {action_expr} AS action_value,
      {action_raw} AS action_raw,
      {col("category")} AS category_value,
      {patient_expr or 'NULL::VARCHAR'} AS patient_text,
      {patient_link} AS patient_link,
      {col("outcome")} AS outcome_value,
      {col("resource_type")} AS resource_type,
      {col("resource_id")} AS resource_id,
      {key_expr} AS key_value
    FROM fields
  ),
  timed0 AS (
    SELECT *, {instant} AS ts_offset, {naive} AS ts_local FROM canon
  ),
  -- local wall times are converted once per distinct local hour (clocks change on the hour), and an
  -- hour that happens twice or never on the night the clocks change is flagged
  hours AS (
    SELECT DISTINCT date_trunc('hour', ts_local) AS hour_local FROM timed0
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
    FROM timed0 t LEFT JOIN hour_info h ON h.hour_local = date_trunc('hour', t.ts_local)
  ),
  final AS (
    -- the raw text is kept only where a quarantine row needs it
    SELECT source_line, CASE WHEN problem IS NOT NULL OR ts IS NULL OR account_id IS NULL THEN raw END AS raw,
      CASE WHEN problem IS NOT NULL OR ts IS NULL OR account_id IS NULL OR key_value IS NULL THEN txt END AS txt,
      coalesce(problem,
        CASE WHEN ts_text IS NULL THEN 'missing timestamp'
             WHEN ts_no_offset AND {tz} IS NULL AND ts_local IS NOT NULL THEN 'timestamp without offset'
             WHEN ts IS NULL THEN 'bad timestamp: ' || left(ts_text, 64)
             WHEN account_id IS NULL THEN 'missing account'
             WHEN key_value IS NULL THEN 'missing event key'
        END) AS problem,
      key_value AS event_key, ts, ts_text AS ts_raw, ts_flag,
      account_id, session_id, src_ip, user_agent,
      CASE WHEN action_value IN {enums['a']} THEN action_value ELSE 'other' END AS action,
      coalesce(action_raw, action_value) AS action_raw,
      CASE WHEN category_value IN {enums['c']} THEN category_value ELSE 'unknown' END
        AS category,
      CASE WHEN patient_text IS NULL THEN [NULL::VARCHAR]
           WHEN NOT starts_with(patient_text, '[') AND ({sep} IS NULL OR NOT contains(patient_text, {sep}))
             THEN [patient_text]
           WHEN starts_with(patient_text, '[') AND json_valid(patient_text)
             THEN coalesce(nullif(list_filter(list_distinct(list_transform(
                    from_json(patient_text, '["VARCHAR"]'), lambda p: nullif(trim(p), ''))),
                    lambda p: p IS NOT NULL), []), [NULL::VARCHAR])
           WHEN {sep} IS NOT NULL
             THEN coalesce(nullif(list_filter(list_distinct(list_transform(
                    string_split(patient_text, {sep}), lambda p: nullif(trim(p), ''))),
                    lambda p: p IS NOT NULL), []), [NULL::VARCHAR])
           ELSE [patient_text] END AS patients,
      patient_link,
      CASE WHEN outcome_value IN {enums['o']} THEN outcome_value ELSE 'unknown' END AS outcome,
      resource_type, resource_id
    FROM timed
  )
SELECT * FROM final"""
    # Drop values bound while composing branches that did not make it into the final text.
    c.params = {k: v for k, v in c.params.items() if re.search(rf"\${k}(?!\w)", c.sql)}
    return c


def _literal_list(values: tuple[str, ...]) -> str:
    """scoping's own vocabulary (never user input) as a SQL IN-list."""
    assert all(v.replace("_", "").isalnum() for v in values)
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _parquet_fields(src: Source, input_sql: str) -> str:
    fields = needed_fields(src)
    cols = ",\n    ".join(f"CAST(p.{quote_ident(f)} AS VARCHAR) AS {_field_ref(f)}" for f in fields)
    return f"""
  fields AS (
    SELECT p.file_row_number + 1 AS source_line, NULL::BLOB AS raw,
      CAST(to_json(p) AS VARCHAR) AS txt, NULL::VARCHAR AS problem,
    {cols}
    FROM {input_sql} p
  )"""
