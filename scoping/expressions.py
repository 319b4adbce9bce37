"""Mapping expressions (`[sources.NAME.expressions]`): one scalar SQL value per line, computed from its fields.

A field is written `{name}` anywhere outside a string literal or a quoted identifier, so a literal may hold any
character (`';'`, `'--'`, `'{3}'`, `'from'`). The guard works on DuckDB's own parse of the expression
(`json_serialize_sql`), not on its characters: it accepts exactly one SELECT of one expression, with no FROM,
no clause, no subquery, no window, no aggregate, no parameter, no column other than the fields (and the
parameters of a lambda), and functions only from `ALLOWED_CATEGORIES` and `ALLOWED_FUNCTIONS` (scalar
functions of strings, numbers, lists, regular expressions, dates and JSON values). Nothing that reads a file,
the catalog, a setting, the environment or the clock, and nothing random, can appear: a mapping gives the same
events from the same evidence, every time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import duckdb

from .errors import ConfigError

_FIELD_NAME = re.compile(r"[^{}]+")

# Scalar functions whose DuckDB category is one of these compute a value from their arguments only.
ALLOWED_CATEGORIES = frozenset({"string", "regex", "numeric", "list", "lambda", "array", "blob", "bitstring",
                                "date", "timestamp", "text_similarity"})
# Scalar functions DuckDB files under no category, checked one by one: operators, conversions, dates, JSON.
ALLOWED_FUNCTIONS = frozenset("""
    != !__postfix !~~ !~~* % & * ** + - ->> / // < << <= = > >= >> @ ^ | ~ ~~ ~~* ~~~ || -> ^@
    abs acos acosh add age array_append array_extract array_pop_back array_pop_front array_prepend
    array_push_back array_push_front array_reverse array_to_json array_to_string asin asinh atan atan2 atanh
    bit_count bit_position bitstring cardinality cbrt ceil ceiling century contains cos cosh cot date_add
    date_diff date_part date_sub date_trunc datediff datepart datesub datetrunc day dayname dayofmonth
    dayofweek dayofyear days_in_month decade degrees divide element_at epoch epoch_ms epoch_ns epoch_us era
    even exp factorial fdiv floor fmod from_json from_json_strict gamma gcd get_bit greatest_common_divisor
    hour if isfinite isinf isnan isodow isoyear json json_array json_array_length json_contains json_exists
    json_extract json_extract_path json_extract_path_text json_extract_string json_keys json_object
    json_quote json_structure json_transform json_transform_strict json_type json_valid json_value julian
    last_day lcm least_common_multiple lgamma list_any_value list_append list_avg list_bool_and list_bool_or
    list_count list_first list_last list_max list_min list_prepend list_reverse list_string_agg list_sum ln
    log log10 log2 make_date make_time make_timestamp make_timestamp_ms make_timestamp_ns make_timestamptz map
    map_concat map_contains map_entries map_extract map_extract_value map_from_entries map_keys map_values
    md5_number_lower md5_number_upper microsecond millennium millisecond minute mod month monthname multiply
    nanosecond nextafter nullif pi pow power quarter radians repeat round round_even roundbankers row
    row_to_json second sign signbit sin sinh split_part sqrt strftime strptime struct_extract struct_extract_at
    struct_pack subtract tan tanh time_bucket timezone timezone_hour timezone_minute to_centuries to_days
    to_decades to_hours to_json to_microseconds to_millennia to_milliseconds to_minutes to_months
    to_quarters to_seconds to_timestamp to_weeks to_years trunc try_strptime typeof week weekday weekofyear
    xor year yearweek
""".split())
# Never, whatever category DuckDB gives them: state, settings, catalog, clock, randomness, side effects.
DENIED = re.compile(r"^(current_|pg_|has_|inet_|txid|__|json_serialize|json_deserialize|json_execute|get_current|"
                    r"getvariable|getenv|random|setseed|uuid|gen_random|now$|today$|transaction_timestamp|nextval|"
                    r"currval|setval|sleep|write_log|error$|version$|user$|session_user|in_search_path|"
                    r"\w*_description$|stats$|parse_duckdb_log|hive_partition|parse_path|parse_dir|parse_file|"
                    r"path_join|finalize|combine|invoke|alias|can_cast)")
_ALLOWED_CLASSES = {"FUNCTION", "COLUMN_REF", "CONSTANT", "CAST", "OPERATOR", "COMPARISON", "CONJUNCTION", "CASE",
                    "BETWEEN", "LAMBDA", "COLLATE", "TYPE"}
_REFUSED_CLASSES = {"SUBQUERY": "a subquery", "WINDOW": "a window function", "STAR": "a * (every column)",
                    "PARAMETER": "a $parameter", "POSITIONAL_REFERENCE": "a positional reference (#1)",
                    "DEFAULT": "DEFAULT", "LAMBDA_REF": "a lambda reference"}
_EXAMPLE = "an expression is one scalar SQL value over {fields}, e.g. lower(trim({login}))"


def _segments(expr: str) -> Iterator[tuple[str, str]]:
    """(kind, text) pieces: 'literal' (a quoted string or identifier, verbatim), 'field' (a {name}), 'sql'."""
    i, n, start = 0, len(expr), 0
    while i < n:
        ch = expr[i]
        if ch in "'\"":
            if start < i:
                yield "sql", expr[start:i]
            j = i + 1
            while j < n:
                if expr[j] == ch:
                    if j + 1 < n and expr[j + 1] == ch:  # '' inside a literal
                        j += 2
                        continue
                    break
                j += 1
            yield "literal", expr[i:j + 1]
            i = start = j + 1
        elif ch == "{" and (m := _FIELD_NAME.match(expr, i + 1)) and m.end() < n and expr[m.end()] == "}":
            if start < i:
                yield "sql", expr[start:i]
            yield "field", m.group(0)
            i = start = m.end() + 1
        else:
            i += 1
    if start < n:
        yield "sql", expr[start:]


def fields(expr: str) -> list[str]:
    """The fields an expression reads, in order of first use."""
    return list(dict.fromkeys(text for kind, text in _segments(expr) if kind == "field"))


def substitute(expr: str, field_sql: Callable[[str], str]) -> str:
    """The expression with every {field} replaced by `field_sql(field)`; literals untouched."""
    return "".join(field_sql(text) if kind == "field" else text for kind, text in _segments(expr))


PLACEHOLDER = "f:"  # fields reach the parser as the column "f:<name>", as in the compiled mapping


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:")


@cache
def _catalog() -> tuple[frozenset[str], dict[str, str]]:
    """(allowed scalar functions, every other function name with its kind) from DuckDB's own catalog."""
    rows = _parser().execute("SELECT function_name, function_type, categories FROM duckdb_functions()").fetchall()
    allowed: set[str] = set()
    kinds: dict[str, str] = {}
    for name, ftype, categories in rows:
        if ftype in ("scalar", "macro") and not DENIED.match(name) and (
                name in ALLOWED_FUNCTIONS or set(categories or ()) & ALLOWED_CATEGORIES):
            allowed.add(name)
        else:
            kinds.setdefault(name, {"table": "a table function", "table_macro": "a table function",
                                    "aggregate": "an aggregate function", "window": "a window function",
                                    "pragma": "a pragma"}.get(ftype, "a function outside the allow-list"))
    return frozenset(allowed), kinds


def _refuse(where: str, what: str) -> ConfigError:
    return ConfigError(f"{where}: {what} is not allowed in a mapping expression", hint=_EXAMPLE)


def _walk(node: Any, where: str, names: set[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, where, names)
        return
    if not isinstance(node, dict):
        return
    cls = node.get("class")
    if cls is not None:
        if cls in _REFUSED_CLASSES:
            raise _refuse(where, _REFUSED_CLASSES[cls])
        if cls not in _ALLOWED_CLASSES:
            raise _refuse(where, f"{cls.lower()} ({node.get('type', '')})")
        if cls == "FUNCTION":
            _check_function(node, where)
        elif cls == "TYPE" and (node.get("schema") or node.get("catalog")):
            raise _refuse(where, f"the qualified type {node.get('schema')}.{node.get('type_name')}")
        elif cls == "COLUMN_REF":
            first = (node.get("column_names") or [""])[0]
            if not first.startswith(PLACEHOLDER) and first not in names:
                raise ConfigError(f"{where}: {first!r} is not a field",
                                  hint="write fields in braces, e.g. {" + first + "}; text goes in quotes, 'like this'")
    for key, value in node.items():
        if key != "lhs":  # a lambda's parameters are names, not columns
            _walk(value, where, names)


def _check_function(node: dict[str, Any], where: str) -> None:
    name = str(node.get("function_name", "")).lower()
    allowed, kinds = _catalog()
    if node.get("schema") or node.get("catalog"):
        raise _refuse(where, f"the qualified function {node.get('schema')}.{name}")
    if name not in allowed:
        raise _refuse(where, f"{kinds.get(name, 'an unknown function')} {name}()")
    if node.get("distinct") or node.get("filter") or (node.get("order_bys") or {}).get("orders"):
        raise _refuse(where, f"an aggregate form of {name}() (DISTINCT, FILTER or ORDER BY)")


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every node of a serialised expression tree, depth first."""
    if isinstance(node, list):
        for item in node:
            yield from _nodes(item)
    elif isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)


def _lambda_names(tree: Any) -> set[str]:
    """The parameter names of every lambda in the tree (`x` of `list_transform({f}, x -> x + 1)`)."""
    return {name for lam in _nodes(tree) if lam.get("class") == "LAMBDA"
            for ref in _nodes(lam.get("lhs")) if ref.get("class") == "COLUMN_REF"
            for name in ref.get("column_names") or []}


def check_expression(expr: str, where: str) -> None:
    """Refuse anything but one scalar value computed from the line's fields (see the module docstring)."""
    if "\x00" in expr:
        raise _refuse(where, "a NUL character")
    if not fields(expr):
        raise ConfigError(f"{where}: the expression uses no field",
                          hint="name fields in braces, e.g. {login}; for a fixed value use [constants]")
    sql = "SELECT " + substitute(expr, lambda f: '"' + (PLACEHOLDER + f).replace('"', '""') + '"')
    try:
        tree = json.loads(_parser().execute("SELECT json_serialize_sql($sql)", {"sql": sql}).fetchone()[0])  # type: ignore[index]
    except duckdb.Error as exc:  # pragma: no cover - the serializer reports errors in its result
        raise ConfigError(f"{where}: {str(exc).splitlines()[0]}", hint=_EXAMPLE) from exc
    if tree.get("error"):
        message = str(tree.get("error_message", "cannot be parsed"))
        if "Only SELECT" in message:
            message = "only one value is allowed (no second statement)"
        raise ConfigError(f"{where}: {message}", hint=_EXAMPLE)
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise _refuse(where, "more than one statement")
    select = statements[0].get("node") or {}
    if select.get("type") != "SELECT_NODE":
        raise _refuse(where, f"a {str(select.get('type', 'query')).lower().replace('_node', '')}")
    if (select.get("from_table") or {}).get("type") != "EMPTY":
        raise _refuse(where, "FROM")
    for clause, label in (("where_clause", "WHERE"), ("having", "HAVING"), ("qualify", "QUALIFY"),
                          ("sample", "USING SAMPLE")):
        if select.get(clause):
            raise _refuse(where, label)
    if select.get("group_expressions") or select.get("group_sets"):
        raise _refuse(where, "GROUP BY")
    if select.get("modifiers"):
        raise _refuse(where, "ORDER BY, LIMIT or DISTINCT")
    if (select.get("cte_map") or {}).get("map"):
        raise _refuse(where, "WITH")
    values = select.get("select_list") or []
    if len(values) != 1:
        raise _refuse(where, f"{len(values)} values (one expression gives one column)")
    _walk(values, where, _lambda_names(values))
