"""The first half of a compiled mapping: one evidence record → its problem, its normalised content and one text
column per field the mapping reads (`scoping.mapping` builds the canonical columns from them).

- CSV/TSV: the line without its line end is the content; quoted fields are split in SQL (below).
- JSON lines: the content is the record minified by DuckDB (`json()`: insignificant whitespace removed, so
  a record rewritten with other spacing is the same record; a byte order mark opening the file is dropped);
  a key repeated in the record, at the top level or in a parent of a field the mapping reads, is flagged
  (`record_flags`) and the field takes its *last* value, as most JSON readers do (the record's tree is walked
  for those records only).
- Parquet: the row as JSON is the content.
Every value is bound; field names pass through `quote_ident`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import expressions
from .config import Source
from .errors import ConfigError
from .queries import quote_ident


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any, prefix: str = "p") -> str:
        name = f"{prefix}{len(self.params)}"
        self.params[name] = value
        return f"${name}"


def field_ref(name: str) -> str:
    return quote_ident(expressions.PLACEHOLDER + name)


def type_ref(name: str) -> str:
    """The JSON type of a field's value (jsonl and parquet), read for the patient field: an array is a list."""
    return quote_ident("t:" + name)


def needed_fields(src: Source) -> list[str]:
    """Every source field the mapping reads, in a stable order."""
    seen: dict[str, None] = {}
    for col, _ in src.columns:
        seen[src.column(col) or ""] = None
    for _, expr in src.expressions:
        for f in expressions.fields(expr):
            seen[f] = None
    for rule in src.rules:
        for f, _ in rule.when:
            seen[f] = None
    return list(seen)


def json_path(name: str) -> str:
    """A field's name (a.b.c, or a JSONPath of the user's starting with $) as a JSONPath."""
    return _json_path(name)


def _json_path(name: str) -> str:
    if name.startswith("$"):
        return name
    return "$." + ".".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in name.split("."))


REPEATED_FLAG = "repeated JSON key: "  # record_flags of a record mapped again by the repair pass


def _json_fields(src: Source, c: Compiled, typed: set[str], repair: bool) -> str:
    """JSON records → fields. Every record's keys are checked for repeats (the record and every parent of a field
    read); fields take the first value of a key. The `repair` variant, run by ingest on the few records flagged,
    walks their tree and takes the value under the last occurrence of every key on a field's path instead."""
    fields = needed_fields(src)
    paths = c.bind([_json_path(f) for f in fields] or ["$.__none__"])
    walkable = [f for f in fields if not f.startswith("$")]
    parents = sorted({".".join(f.split(".")[:i]) for f in walkable for i in range(1, len(f.split(".")))})
    parent_paths = c.bind(["$"] + [_json_path(p) for p in parents])
    parent_names = c.bind([""] + [p + "." for p in parents])
    types = f"json_type(j, {paths})" if typed else "[]::VARCHAR[]"
    flag = f"""CASE WHEN len(list_filter(key_lists, lambda k: len(k) <> list_unique(k))) > 0
        THEN {c.bind(REPEATED_FLAG)} || array_to_string(flatten(list_transform(range(1, len(key_lists) + 1), lambda i:
          list_transform(list_filter(list_distinct(coalesce(key_lists[i], [])),
                                     lambda x: len(list_filter(key_lists[i], lambda y: y = x)) > 1),
                         lambda k: {parent_names}[i] || k))), ', ') END"""
    head = f"""
  screened AS (
    SELECT source_line, source_line_end, oversize, raw, txt, j,
      CASE WHEN txt IS NULL THEN 'invalid UTF-8'
           WHEN trim(txt) = '' THEN 'empty line'
           WHEN j IS NULL THEN 'unparseable JSON record'
           WHEN NOT starts_with(j, '{{') THEN 'JSON record is not an object'
      END AS problem
    -- one parse tells a valid record and minifies it (no whitespace: an object starts with '{{'); every
    -- later function reads the minified text
    FROM (SELECT *, CASE WHEN txt IS NOT NULL THEN CAST(try(json(txt)) AS VARCHAR) END AS j
          -- a UTF-8 byte order mark opening the file is no part of its first record (as for a CSV header)
          FROM (SELECT * REPLACE (CASE WHEN source_line = 1 AND starts_with(txt, chr(65279)) THEN txt[2:]
                                       ELSE txt END AS txt) FROM decoded))
  ),
  parsed AS (
    SELECT source_line, source_line_end, oversize, raw, txt, j, problem,
      CASE WHEN problem IS NULL THEN j END AS content,
      CASE WHEN problem IS NULL THEN json_extract_string(j, {paths}) END AS vals,
      CASE WHEN problem IS NULL THEN {types} END AS types,
      CASE WHEN problem IS NULL THEN json_keys(j, {parent_paths}) END AS key_lists
    FROM screened
  ),"""
    if not repair:
        cols = ",\n    ".join([f"vals[{i + 1}] AS {field_ref(f)}" for i, f in enumerate(fields)]
                              + [f"types[{i + 1}] AS {type_ref(f)}" for i, f in enumerate(fields) if f in typed])
        return head + f"""
  fields AS (
    SELECT source_line, source_line_end, oversize, raw, txt, content, problem,
      {flag} AS parse_flags{"," if cols else ""}
    {cols}
    FROM parsed
  )"""
    wanted = c.bind([f.split(".") for f in walkable] or [["__none__"]])

    def last(i: int, f: str, what: str) -> str:
        if f.startswith("$"):  # a JSONPath of the user's: its first value
            return f"p.{what}[{i + 1}]"
        return f"list_filter(r.found, lambda e: e.k = {c.bind(f.split('.'))})[1].{what[0]}"

    cols = ",\n    ".join([f"{last(i, f, 'vals')} AS {field_ref(f)}" for i, f in enumerate(fields)]
                          + [f"{last(i, f, 'types')} AS {type_ref(f)}" for i, f in enumerate(fields) if f in typed])
    return head + f"""
  tree AS (
    SELECT p.source_line, t.id, t.parent, t.key, t.value, t.type,
      t.id = max(t.id) OVER (PARTITION BY p.source_line, t.parent, t.key) AS is_last
    FROM parsed p, json_tree(p.j) t WHERE p.problem IS NULL
  ),
  walk(source_line, id, keys) AS (
    SELECT source_line, id, []::VARCHAR[] FROM tree WHERE parent IS NULL
    UNION ALL
    SELECT t.source_line, t.id, list_append(w.keys, t.key)
    FROM tree t JOIN walk w ON t.source_line = w.source_line AND t.parent = w.id
    WHERE t.is_last AND len(w.keys) < 64
  ),
  repaired AS (
    SELECT w.source_line,
      list({{'k': w.keys, 'v': CASE WHEN t.type = 'VARCHAR' THEN json_extract_string(t.value, '$')
                                    ELSE CAST(t.value AS VARCHAR) END, 't': t.type}}) AS found
    FROM walk w JOIN tree t ON t.source_line = w.source_line AND t.id = w.id
    WHERE list_contains({wanted}, w.keys)
    GROUP BY w.source_line
  ),
  fields AS (
    SELECT p.source_line, p.source_line_end, p.oversize, p.raw, p.txt, p.content, p.problem,
      {flag} AS parse_flags{"," if cols else ""}
    {cols}
    FROM parsed p LEFT JOIN repaired r USING (source_line)
  )"""


def _csv_fields(src: Source, c: Compiled, header: list[str] | None) -> str:
    fields = needed_fields(src)
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
    cols = ",\n    ".join(f"cells[{index[f] + 1}] AS {field_ref(f)}" for f in fields)
    start = 2 if src.header else 1
    # Quoted lines are split on the quote character: outside segments hold delimiter-separated fields,
    # inside segments are whole fields. Lines with an escaped quote ("") inside a field take the slower
    # regular-expression path. Either way the result is unquoted text, one cell per field.
    return f"""
  split AS (
    SELECT source_line, source_line_end, oversize, raw, txt,
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
    SELECT source_line, source_line_end, oversize, raw, txt, txt AS content, problem,
      NULL::VARCHAR AS parse_flags{"," if cols else ""}
    {cols}
    FROM parsed
  )"""


def parquet_fields(src: Source, input_sql: str, typed: set[str], columns: list[str]) -> str:
    fields = needed_fields(src)
    missing = [f for f in fields if f not in columns]
    if missing:
        raise ConfigError(f"[sources.{src.name}] reads field(s) {', '.join(map(repr, missing))} "
                          f"that the file does not have", hint=f"the file's columns are: {', '.join(columns)}")
    # the row's alias names the whole row only if no column has that name
    alias = next(a for a in (f"row{i}" if i else "row" for i in range(len(columns) + 1)) if a not in columns)
    r = quote_ident(alias)
    cols = [f"CASE WHEN typeof({r}.{quote_ident(f)}) LIKE '%[]' THEN CAST(to_json({r}.{quote_ident(f)}) AS VARCHAR) "
            f"ELSE CAST({r}.{quote_ident(f)} AS VARCHAR) END AS {field_ref(f)}" for f in fields]
    cols += [f"CASE WHEN typeof({r}.{quote_ident(f)}) LIKE '%[]' THEN 'ARRAY' END AS {type_ref(f)}"
             for f in fields if f in typed]
    listed = ",\n    ".join(cols)
    # the row as JSON, its position left out: the same row twice is the same record
    row = "to_json(struct_pack(" + ", ".join(f"{quote_ident(c)} := {r}.{quote_ident(c)}" for c in columns) + "))"
    return f"""
  fields AS (
    SELECT {r}.file_row_number + 1 AS source_line, NULL::BIGINT AS source_line_end, NULL::BIGINT AS oversize,
      NULL::BLOB AS raw,
      CAST({row} AS VARCHAR) AS txt, CAST({row} AS VARCHAR) AS content, NULL::VARCHAR AS problem,
      NULL::VARCHAR AS parse_flags{"," if cols else ""}
    {listed}
    FROM {input_sql} {r}
  )"""


def text_fields(src: Source, c: Compiled, header: list[str] | None, typed: set[str], *, repair: bool = False) -> str:
    """CTEs turning decoded lines into `fields`: problem, content, parse flags and one column per field."""
    if src.format == "jsonl":
        return _json_fields(src, c, typed, repair)
    return _csv_fields(src, c, header)
