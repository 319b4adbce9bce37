"""case.toml's schema is one table (scoping/caseschema.py); `scoping init`'s template and the README agree with it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from scoping import caseschema
from scoping.casefile import TEMPLATE
from scoping.config import load
from scoping.errors import ConfigError
from scoping.schema import MAPPABLE

README = Path(__file__).parent.parent / "README.md"
_HEADER = re.compile(r"^(\[\[?)\s*([A-Za-z0-9_.*-]+)\s*(\]\]?)")
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=")
COLUMN_TABLES = {"sources.*.constants", "sources.*.expressions", "sources.*.maps", "sources.*.rules[].set"}


def _template_keys() -> set[tuple[str, str]]:
    """(schema table, key) for every table header and `key =` line of the template, commented or not."""
    found: set[tuple[str, str]] = set()
    table = ""
    for raw in TEMPLATE.splitlines():
        line = raw.lstrip("#").strip()
        if m := _HEADER.match(line):
            path = m.group(2) + ("[]" if m.group(1) == "[[" else "")
            entry = caseschema._table(path.replace("[]", "")) if "[]" not in path else caseschema._table(path)
            assert entry is not None, f"template table [{path}] is not in the schema"
            table = entry[0]
            parts = path.replace("[]", "").split(".")
            for i in range(len(parts)):  # the header names a key of each table above it
                parent_entry = caseschema._table(".".join(parts[:i]))
                assert parent_entry is not None
                found.add((parent_entry[0], parts[i] if "*" not in parent_entry[1] else "*"))
        elif m := _KEY.match(line):
            found.add((table, m.group(1)))
    return found


def test_every_key_of_the_template_is_in_the_schema():
    for table, key in _template_keys():
        known = caseschema.TABLES[table]
        assert key in known or "*" in known, f"template key {key} of [{table}] is not in the schema"


def test_every_key_of_the_schema_is_in_the_template():
    found = _template_keys()
    for table, keys in caseschema.TABLES.items():
        if table in COLUMN_TABLES or set(keys) == {"*"}:
            continue  # the canonical columns of [sources.NAME.columns], or free keys: shown by their parent's key
        for key in keys:
            assert (table, key) in found, f"the template does not show {key} of [{table or 'top level'}]"
    assert {k for t, k in found if t == "sources.*.columns"} == set(MAPPABLE)


def test_the_template_is_a_valid_case_once_uncommented(tmp_path):
    lines = []
    for raw in TEMPLATE.splitlines():
        body = raw[2:] if raw.startswith("# ") else raw
        if _HEADER.match(body.strip()) or _KEY.match(body.strip()):
            lines.append(body)
    text = "\n".join(lines) + "\n"
    raw = tomllib.loads(text)
    caseschema.check(raw)


def test_every_toml_example_of_the_readme_uses_known_keys():
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        caseschema.check(tomllib.loads(block))


@pytest.mark.parametrize(("text", "fragment"), [
    ('[case]\nengin = "spark"\n', "unknown key 'engin' in [case]"),
    ('[case]\nengine = "sparkle"\n', "is not an engine"),
    ('[case]\nengine = "spark"\n', "[case] lake is not set"),
    ('[case]\nmax_quarantined_share = 2\n', "between 0 and 1"),
    ('[spark]\nconfig = { "spark.api.mode" = "remote" }\n', "is not a mode of Spark"),
    ('[spark]\nmaster = "sc:/host:15002"\n', "is not a Spark master"),
    ('[spark]\nmaster = "localhost"\n', "is not a Spark master"),
    ('[case]\nlake = "s3://b/lake"\nlake_filesystem = "boto"\n', "is not a way scoping reads a lake"),
    ('[case]\nlake = "lake"\nlake_filesystem = "fsspec"\n', "is for a lake at a URI, and [case] lake is a folder"),
    ('[case]\nmax_line_bytes = "lots"\n', "is not a size"),
    ('[sources.a]\nformat = "fhir"\nfiles = ["x"]\nts_format = "%Y"\n', 'format = "fhir" does not use ts_format'),
    ('[sources.a]\nformat = "jsonl"\nfiles = ["x"]\ndelimiter = ";"\n', "does not use delimiter"),
    ('[sources]\na = "x"\n', "[sources] must be a table of named sources"),
    ('[sources.a]\nformat = "csv"\nfiles = ["x"]\n[sources.a.constants]\nts = "2025"\n',
     "ts cannot be a constant"),
    ('[sources.a]\nformat = "csv"\nfiles = ["x"]\n[sources.a.columns]\nts = "t"\naccount_id = "u"\n'
     '[sources.a.expressions]\nts = "{t}"\n', "given both as an expression and as a field"),
])
def test_bad_values_are_configuration_errors(tmp_path, text, fragment):
    (tmp_path / "case.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load(tmp_path)
    assert fragment in str(err.value)


def test_case_limits_are_read(tmp_path):
    (tmp_path / "case.toml").write_text('[case]\nmax_quarantined_share = 0.25\nmax_line_bytes = "1MiB"\n')
    cfg = load(tmp_path)
    assert (cfg.max_quarantined_share, cfg.max_line_bytes) == (0.25, 2**20)
