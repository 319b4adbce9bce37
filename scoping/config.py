"""Reading case.toml: sources, mappings and reference tables, validated with errors a user can act on.

The incident part of case.toml is read by `scoping.incident`; this module keeps only what ingest
needs. Every table and key is first checked against `scoping.caseschema` (an unknown key is an error naming
the nearest known one), then every value here, before any file is opened, so a typo stops the run with the
section and key at fault rather than half way through an ingest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import caseschema
from .errors import ConfigError
from .expressions import check_expression
from .schema import ACTIONS, CATEGORIES, MAPPABLE, OUTCOMES

FORMATS = ("csv", "tsv", "jsonl", "parquet", "fhir", "openemr")
TS_FORMATS = ("iso8601", "epoch_s", "epoch_ms")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
LIST_MEMBER = "[]."  # patient_id = "results[].id": the member `id` of each object of the list `results`


@dataclass(frozen=True)
class Rule:
    """One ordered classification rule: every `when` regex matches → `set` values and named captures."""

    name: str
    when: tuple[tuple[str, str], ...]
    set: tuple[tuple[str, str], ...]
    link: str | None = None  # how a patient captured by this rule was found (patient_link), default rule:<name>


@dataclass(frozen=True)
class Source:
    """A set of evidence files in one format, with the mapping onto the canonical columns."""

    name: str
    format: str
    files: tuple[str, ...]
    columns: tuple[tuple[str, str], ...] = ()
    constants: tuple[tuple[str, str], ...] = ()
    maps: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    rules: tuple[Rule, ...] = ()
    ts_format: str = "iso8601"
    timezone: str | None = None
    delimiter: str = ","
    quote: str = '"'
    header: bool = True
    column_names: tuple[str, ...] = ()
    patient_separator: str | None = None
    null_values: tuple[str, ...] = ("",)
    api_log: str | None = None  # OpenEMR: the api_log export joined to the log on log_id
    expressions: tuple[tuple[str, str], ...] = ()  # canonical column = DuckDB expression over {field}s
    follow_symlinks: bool = False  # matched files may be links leading outside the case folder
    max_quarantined_share: float | None = None  # None: [case] max_quarantined_share

    def column(self, name: str) -> str | None:
        """The field a canonical column reads (for `patient_id = "results[].id"`, the list field `results`)."""
        value = dict(self.columns).get(name)
        return value.split(LIST_MEMBER, 1)[0] if value is not None else None

    @property
    def patient_member(self) -> str | None:
        """The member holding the patient id in the objects of a JSON list (`patient_id = "results[].id"`)."""
        value = dict(self.columns).get("patient_id")
        return value.split(LIST_MEMBER, 1)[1] if value is not None and LIST_MEMBER in value else None

    def value_map(self, name: str) -> dict[str, str]:
        return dict(dict(self.maps).get(name, ()))


@dataclass(frozen=True)
class Reference:
    """A reference table (accounts, patients, care) read from CSV or Parquet with a column mapping."""

    kind: str
    file: str
    columns: tuple[tuple[str, str], ...] = ()
    delimiter: str = ","
    timezone: str | None = None  # dates written without an offset are refused when None


ENGINES = ("duckdb", "spark")
# local, local[N], local[*], local[N,F], local-cluster[...], spark://, yarn, k8s://, mesos://, sc:// (Spark Connect)
SPARK_MASTER = re.compile(r"local(\[(\*|\d+)(,\s*\d+)?\])?|local-cluster\[[\d,\s]+\]|yarn|"
                          r"(spark|k8s|mesos|sc)://\S+")
LAKE_FILESYSTEMS = ("duckdb", "fsspec")


@dataclass(frozen=True)
class SparkSettings:
    """`[spark]`: where the scans run — `local[*]` (this machine), a cluster master, or a Spark Connect URL
    (`sc://host:15002`); `config` adds Spark settings (e.g. spark.driver.memory; `spark.api.mode = "connect"` makes
    a local or cluster master a Spark Connect server scoping starts, and is the client of)."""

    master: str = "local[*]"
    config: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CaseConfig:
    root: Path
    name: str
    sources: tuple[Source, ...]
    references: tuple[Reference, ...]
    incident: dict[str, Any] = field(default_factory=dict)
    memory_limit: str | None = None
    max_temp_directory_size: str | None = None
    threads: int | None = None
    session_gap_minutes: int = 30
    raw: dict[str, Any] = field(default_factory=dict)
    max_quarantined_share: float = 0.5
    max_line_bytes: int = 16 * 1024 * 1024
    lake: str | None = None        # [case] lake: a folder (relative to the case) or a URI; None: the store's tables
    lake_filesystem: str = "duckdb"  # [case] lake_filesystem: who reads a lake URI, DuckDB itself or fsspec
    engine: str = "duckdb"         # [case] engine: "duckdb", or "spark" for the scans of the whole lake
    spark: SparkSettings = field(default_factory=lambda: SparkSettings())

    def quarantine_limit(self, src: Source) -> float:
        """The share of quarantined lines above which a file of `src` fails the ingest."""
        return self.max_quarantined_share if src.max_quarantined_share is None else src.max_quarantined_share

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"case.toml has no source named {name!r}",
                          hint=f"known sources: {', '.join(s.name for s in self.sources) or 'none'}")


REFERENCE_COLUMNS = {
    "accounts": ("account_id", "practice_id", "role", "active_from", "active_until"),
    "patients": ("patient_id", "practice_id"),
    "care": ("patient_id", "practice_id", "account_id", "kind", "start", "end"),
}
REFERENCE_REQUIRED = {"accounts": ("account_id", "practice_id"), "patients": ("patient_id", "practice_id"),
                      "care": ("patient_id",)}


def check_timezone(tz: str, where: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: unknown time zone {tz!r}",
                          hint="use an IANA name such as 'Europe/Paris' or 'UTC'") from exc
    return tz


def _str_pairs(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table of key = \"value\" pairs")
    out = []
    for k, v in value.items():
        if not isinstance(v, str | int | float | bool):
            raise ConfigError(f"{where}.{k} must be a string")
        out.append((str(k), str(v)))
    return tuple(out)


def _expect(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any) -> Any:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}.{key} has the wrong type ({type(value).__name__})")
    return value


def _parse_rules(raw: Any, where: str) -> tuple[Rule, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}.rules must be an array of tables ([[{where}.rules]])")
    rules = []
    for i, r in enumerate(raw, start=1):
        w = f"{where}.rules[{i}]"
        if not isinstance(r, dict) or "when" not in r:
            raise ConfigError(f"{w} needs a `when` table of field = \"regex\"")
        when = _str_pairs(r["when"], f"{w}.when")
        sets = _str_pairs(r.get("set", {}), f"{w}.set")
        for fld, pattern in when:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"{w}.when.{fld}: invalid regular expression {pattern!r}: {exc}") from exc
            for group in compiled.groupindex:
                if group not in MAPPABLE:
                    raise ConfigError(f"{w}.when.{fld}: named group {group!r} is not a canonical column",
                                      hint=f"use one of {', '.join(MAPPABLE)}")
        for col, val in sets:
            _check_canonical_value(col, val, f"{w}.set")
        link = r.get("link")
        if link is not None and not isinstance(link, str):
            raise ConfigError(f"{w}.link must be a string")
        rules.append(Rule(name=str(r.get("name", f"rule {i}")), when=when, set=sets, link=link))
    return tuple(rules)


def _check_canonical_value(col: str, val: str, where: str) -> None:
    if col not in MAPPABLE:
        raise ConfigError(f"{where}: {col!r} is not a canonical column", hint=f"use one of {', '.join(MAPPABLE)}")
    allowed = {"action": ACTIONS, "category": CATEGORIES, "outcome": OUTCOMES}.get(col)
    if allowed and val not in allowed:
        raise ConfigError(f"{where}.{col} = {val!r} is not a known {col}", hint=f"use one of {', '.join(allowed)}")


_COMMON_KEYS = {"format", "files", "timezone", "follow_symlinks", "max_quarantined_share"}
_MAPPING_KEYS = {"columns", "constants", "expressions", "maps", "rules", "ts_format", "patient_separator",
                 "null_values"}
_CSV_KEYS = {"delimiter", "quote", "header", "column_names"}
_FORMAT_KEYS = {"csv": _COMMON_KEYS | _MAPPING_KEYS | _CSV_KEYS, "tsv": _COMMON_KEYS | _MAPPING_KEYS | _CSV_KEYS,
                "jsonl": _COMMON_KEYS | _MAPPING_KEYS, "parquet": _COMMON_KEYS | _MAPPING_KEYS,
                "fhir": _COMMON_KEYS, "openemr": _COMMON_KEYS | {"api_log", "delimiter", "quote"}}


def parse_source(name: str, t: dict[str, Any]) -> Source:
    where = f"[sources.{name}]"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: a source name uses letters, digits, '_', '-' and '.' only")
    fmt = t.get("format")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}.format = {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    unused = sorted(set(t) - _FORMAT_KEYS[fmt])
    if unused:
        raise ConfigError(f"{where}: format = \"{fmt}\" does not use {', '.join(unused)}",
                          hint="fhir and openemr come with their own mapping; delimiter, quote, header and "
                               "column_names are for csv and tsv")
    files = t.get("files")
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise ConfigError(f"{where}.files must list one or more file globs")
    columns = _str_pairs(t.get("columns", {}), f"{where}.columns")
    for col, fld in columns:
        if col not in MAPPABLE:
            raise ConfigError(f"{where}.columns: {col!r} is not a canonical column",
                              hint=f"use one of {', '.join(MAPPABLE)}")
        if LIST_MEMBER in fld or fld.endswith("[]"):
            base, _, member = fld.partition(LIST_MEMBER)
            if col != "patient_id" or fmt not in ("jsonl", "parquet") or not base or not member \
                    or "[]" in base or "[]" in member or base.startswith("$"):
                raise ConfigError(f"{where}.columns.{col} = {fld!r}: FIELD[].MEMBER names the member holding the "
                                  f"patient id in a list of objects; it is for patient_id of a jsonl or parquet "
                                  f"source, written once",
                                  hint='e.g. patient_id = "results[].id" for "results": [{"id": "A1"}, ...]')
    constants = _str_pairs(t.get("constants", {}), f"{where}.constants")
    expressions = _str_pairs(t.get("expressions", {}), f"{where}.expressions")
    for col, expr in expressions:
        if col not in MAPPABLE:
            raise ConfigError(f"{where}.expressions: {col!r} is not a canonical column",
                              hint=f"use one of {', '.join(MAPPABLE)}")
        if col in dict(columns) or col in dict(constants):
            raise ConfigError(f"{where}: {col!r} is given both as an expression and as a field or constant",
                              hint="give it once: an expression may read that field, e.g. "
                                   "ts = \"{date} || ' ' || {offset}\"")
        check_expression(expr, f"{where}.expressions.{col}")
    for col, val in constants:
        _check_canonical_value(col, val, f"{where}.constants")
        if col in ("ts", "event_key"):
            raise ConfigError(f"{where}.constants: {col} cannot be a constant (it differs on every line)",
                              hint=f"name the field holding it under [sources.{name}.columns]")
    maps_raw = t.get("maps", {})
    if not isinstance(maps_raw, dict):
        raise ConfigError(f"{where}.maps must be a table of value maps")
    maps = []
    for col, m in maps_raw.items():
        pairs = _str_pairs(m, f"{where}.maps.{col}")
        for _, val in pairs:
            _check_canonical_value(col, val, f"{where}.maps.{col}")
        maps.append((col, pairs))
    rules = _parse_rules(t.get("rules", []), where)
    ts_format = _expect(t, "ts_format", str, where, "iso8601")
    tz = _expect(t, "timezone", str, where, None)
    if tz is not None:
        check_timezone(tz, f"{where}.timezone")
    if fmt in ("csv", "tsv", "jsonl", "parquet"):
        if "ts" not in dict(columns) and "ts" not in dict(expressions):
            raise ConfigError(f"{where}.columns has no `ts`", hint="name the field that holds the event time")
        fed = set(dict(columns)) | set(dict(constants)) | set(dict(expressions))
        if "account_id" not in fed:
            raise ConfigError(f"{where}.columns has no `account_id`", hint="name the field holding the login")
    if ts_format not in TS_FORMATS and "%" not in ts_format:
        raise ConfigError(f"{where}.ts_format = {ts_format!r}",
                          hint="use iso8601, epoch_s, epoch_ms or a strptime format such as '%d/%b/%Y:%H:%M:%S %z'")
    if "%" in ts_format and "%z" not in ts_format and "%Z" not in ts_format and tz is None:
        raise ConfigError(f"{where}: ts_format {ts_format!r} carries no offset, so a time zone is required",
                          hint="add timezone = \"Europe/Paris\" (or the zone the logging server used)")
    if fmt == "openemr" and tz is None:
        raise ConfigError(f"{where}: OpenEMR writes local times without an offset; a time zone is required",
                          hint="add timezone = \"...\" with the OpenEMR server's zone")
    delimiter = _expect(t, "delimiter", str, where, "\t" if fmt == "tsv" else ",")
    quote = _expect(t, "quote", str, where, '"')
    if len(delimiter) != 1 or len(quote) > 1 or delimiter == quote:
        raise ConfigError(f"{where}: delimiter must be one character and differ from quote")
    header = _expect(t, "header", bool, where, True)
    column_names = tuple(_expect(t, "column_names", list, where, []))
    if fmt in ("csv", "tsv") and not header and not column_names:
        raise ConfigError(f"{where}: header = false needs column_names = [...]")
    sep = _expect(t, "patient_separator", str, where, None)
    nulls = tuple(str(v) for v in _expect(t, "null_values", list, where, [""]))
    api_log = _expect(t, "api_log", str, where, None)
    if api_log and fmt != "openemr":
        raise ConfigError(f"{where}.api_log is for format = \"openemr\" only")
    if sep == "":
        raise ConfigError(f"{where}.patient_separator is empty", hint="remove it, or give the separator, e.g. \";\"")
    share = t.get("max_quarantined_share")
    return Source(name=name, format=fmt, files=tuple(files), columns=columns, constants=constants,
                  maps=tuple(maps), rules=rules, ts_format=ts_format, timezone=tz, delimiter=delimiter,
                  quote=quote, header=header, column_names=column_names, patient_separator=sep,
                  null_values=nulls, api_log=api_log, expressions=expressions,
                  follow_symlinks=_expect(t, "follow_symlinks", bool, where, False),
                  max_quarantined_share=None if share is None else _share(share, f"{where}.max_quarantined_share"))


def _share(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"{where} = {value!r} must be a share between 0 and 1",
                          hint="0.5 fails a file when more than half of its lines are quarantined; 1 never does")
    return float(value)


def source_digest(src: Source, root: Path) -> str:
    """SHA-256 of what the source's definition makes of its files: the parsed source as canonical JSON, without
    the keys that only choose files or set a limit (files, follow_symlinks, max_quarantined_share), plus the
    content of an OpenEMR api_log. A file ingested under another digest is re-read by the next ingest."""
    definition = dataclasses.asdict(src)
    for key in ("files", "follow_symlinks", "max_quarantined_share"):
        definition.pop(key)
    if src.api_log:
        path = Path(src.api_log) if Path(src.api_log).is_absolute() else root / src.api_log
        digest = None
        if path.is_file():
            h = hashlib.sha256()
            with path.open("rb") as fh:
                while block := fh.read(4 * 1024 * 1024):
                    h.update(block)
            digest = h.hexdigest()
        definition["api_log_sha256"] = digest
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def read_settings(cfg: CaseConfig) -> str:
    """The case settings, besides a source's definition, that decide what the ledger of a file read now says
    (a line longer than max_line_bytes is quarantined), as canonical JSON: recorded with every file, so that a
    change reads its files again."""
    return json.dumps({"max_line_bytes": cfg.max_line_bytes}, sort_keys=True, separators=(",", ":"))


def settings_change(recorded: str | None, current: str) -> str | None:
    """How the read settings recorded with a file differ from the current ones (None when they do not)."""
    if recorded == current:
        return None
    if recorded is None:
        return "the settings it was read with are not recorded"
    try:
        old = json.loads(recorded)
    except ValueError:
        old = {}
    new = json.loads(current)
    return "; ".join(f"{k} = {old.get(k)} then, {new.get(k)} now" for k in sorted(set(old) | set(new))
                     if old.get(k) != new.get(k)) or None


def parse_reference(kind: str, t: dict[str, Any]) -> Reference:
    where = f"[reference.{kind}]"
    if kind not in REFERENCE_COLUMNS:
        raise ConfigError(f"{where}: unknown reference table", hint="use accounts, patients or care")
    file = t.get("file")
    if not isinstance(file, str):
        raise ConfigError(f"{where}.file must name a CSV or Parquet file")
    columns = _str_pairs(t.get("columns", {}), f"{where}.columns")
    for col, _ in columns:
        if col not in REFERENCE_COLUMNS[kind]:
            raise ConfigError(f"{where}.columns: {col!r} is not a column of {kind}",
                              hint=f"use {', '.join(REFERENCE_COLUMNS[kind])}")
    tz = _expect(t, "timezone", str, where, None)
    if tz is not None:
        check_timezone(tz, f"{where}.timezone")
    return Reference(kind=kind, file=file, columns=columns,
                     delimiter=_expect(t, "delimiter", str, where, ","), timezone=tz)


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)")
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30,
          "TiB": 2**40}


def _bytes(case: dict[str, Any], key: str, default: int) -> int:
    value = case.get(key, default)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    m = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if not m or float(m.group(1)) * _UNITS[m.group(2)] < 1:
        raise ConfigError(f"[case].{key} = {value!r} is not a size", hint='write it like "16MiB" or 16777216')
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def _setting(case: dict[str, Any], key: str) -> str | None:
    value = case.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value.strip()):
        raise ConfigError(f"[case].{key} = {value!r} is not a size", hint='write it like "2GB" or "500MB"')
    return value.strip()


def load(root: Path) -> CaseConfig:
    path = root / "case.toml"
    if not path.is_file():
        raise ConfigError(f"{path} not found", hint="create a case with `scoping init CASE`")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: {exc}", hint="fix the TOML syntax at that line") from exc
    caseschema.check(raw)
    case = raw.get("case", {})
    sources_raw = raw.get("sources", {})
    if not isinstance(sources_raw, dict) or not all(isinstance(t, dict) for t in sources_raw.values()):
        raise ConfigError("[sources] must be a table of named sources", hint="write each as [sources.NAME]")
    sources = tuple(parse_source(n, t) for n, t in sorted(sources_raw.items()))
    refs_raw = raw.get("reference", {})
    if not isinstance(refs_raw, dict) or not all(isinstance(t, dict) for t in refs_raw.values()):
        raise ConfigError("[reference] must hold tables: [reference.accounts], [reference.patients], [reference.care]")
    refs = tuple(parse_reference(k, t) for k, t in sorted(refs_raw.items()))
    if not isinstance(case, dict):
        raise ConfigError("[case] must be a table")
    threads = case.get("threads")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ConfigError("[case].threads must be a positive whole number")
    gap = case.get("session_gap_minutes", 30)
    if not isinstance(gap, int) or gap <= 0:
        raise ConfigError("[case].session_gap_minutes must be a positive whole number of minutes")
    return CaseConfig(root=root, name=str(case.get("name", root.name)), sources=sources, references=refs,
                      incident=raw.get("incident", {}), memory_limit=_setting(case, "memory_limit"),
                      max_temp_directory_size=_setting(case, "max_temp_directory_size"),
                      threads=int(threads) if threads else None, session_gap_minutes=gap, raw=raw,
                      max_quarantined_share=_share(case.get("max_quarantined_share", 0.5),
                                                   "[case].max_quarantined_share"),
                      max_line_bytes=_bytes(case, "max_line_bytes", 16 * 1024 * 1024),
                      **_engine(case, raw.get("spark", {})))


def _engine(case: dict[str, Any], spark: Any) -> dict[str, Any]:
    """[case] lake and engine, and the [spark] table."""
    lake = case.get("lake")
    if lake is not None and (not isinstance(lake, str) or not lake.strip()):
        raise ConfigError("[case].lake must be a folder or a URI", hint='e.g. lake = "lake"')
    filesystem = case.get("lake_filesystem", "duckdb")
    if filesystem not in LAKE_FILESYSTEMS:
        raise ConfigError(f"[case].lake_filesystem = {filesystem!r} is not a way scoping reads a lake",
                          hint='"duckdb" (its own extensions: httpfs for s3://) or "fsspec" (the Python file system '
                               'of the URI\'s scheme: s3fs, gcsfs, adlfs)')
    if filesystem != "duckdb" and (not isinstance(lake, str) or "://" not in lake):
        raise ConfigError(f'[case].lake_filesystem = "{filesystem}" is for a lake at a URI, and [case] lake is '
                          f'{"not set" if lake is None else "a folder"}',
                          hint='name the lake by its URI (lake = "s3://bucket/lake"), or remove lake_filesystem')
    engine = case.get("engine", "duckdb")
    if engine not in ENGINES:
        raise ConfigError(f"[case].engine = {engine!r} is not an engine scoping runs on",
                          hint=f"use one of {', '.join(ENGINES)}")
    if not isinstance(spark, dict):
        raise ConfigError("[spark] must be a table")
    master = spark.get("master", "local[*]")
    if not isinstance(master, str) or not master.strip():
        raise ConfigError("[spark].master must be text", hint='e.g. master = "local[*]" or "sc://host:15002"')
    if not SPARK_MASTER.fullmatch(master.strip()):
        raise ConfigError(f"[spark].master = {master!r} is not a Spark master",
                          hint='"local[*]" (this machine), "local[2]", a cluster ("spark://host:7077", "yarn", '
                               '"k8s://https://host:443") or a Spark Connect server ("sc://host:15002")')
    extra = spark.get("config", {})
    if not isinstance(extra, dict) or not all(isinstance(v, str | int | float | bool) for v in extra.values()):
        raise ConfigError("[spark].config must be a table of Spark settings",
                          hint='e.g. config = { "spark.driver.memory" = "4g" }')
    if engine == "spark" and lake is None:
        raise ConfigError('[case] engine = "spark" reads the canonical tables from a lake, and [case] lake is not set',
                          hint='add lake = "lake" to [case]: `scoping ingest` then writes it')
    settings = SparkSettings(master=master.strip(),
                             config=tuple(sorted((str(k), str(v).lower() if isinstance(v, bool) else str(v))
                                                 for k, v in extra.items())))
    mode = dict(settings.config).get("spark.api.mode")
    if mode is not None and mode not in ("classic", "connect"):
        raise ConfigError(f'[spark].config."spark.api.mode" = {mode!r} is not a mode of Spark',
                          hint='"connect" (Spark Connect to a server scoping starts on this machine) or "classic"')
    return {"lake": lake.strip() if lake else None, "lake_filesystem": filesystem, "engine": engine,
            "spark": settings}
