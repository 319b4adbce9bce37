"""The shipped forensic queries: one question per `.sql` file, run exactly as written on disk.

Each file opens with a header of `--` lines:

    -- question: which patients did attacker sessions reach?
    -- params: window_start, window_end
    -- reads: events, scope_sessions
    -- writes: (only for files that build a table)
    -- order: patient_id, practice_id

The text is loaded with importlib.resources and never templated. Values are bound as `$name`
parameters; `Query.bind` refuses a call whose parameters differ from the declared ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .errors import ConfigError

_PARAM = re.compile(r"(?<![:$\w])\$([A-Za-z_]\w*)")
_HEADER = re.compile(r"^--\s*(\w+):\s*(.*)$")
_KEYS = {"question", "params", "reads", "writes", "order", "assumptions"}


@dataclass(frozen=True)
class Query:
    """A shipped SQL file: its name, header fields and exact text."""

    name: str
    question: str
    params: tuple[str, ...]
    reads: str
    order: str
    text: str
    writes: str = ""
    assumptions: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def used_params(self) -> set[str]:
        body = "\n".join(line for line in self.text.splitlines() if not line.lstrip().startswith("--"))
        return set(_PARAM.findall(body))

    def _repr_markdown_(self) -> str:
        """How a notebook shows the query: its header as a list, then the text that runs, verbatim."""
        fields = [("parameters", ", ".join(self.params) or "none"), ("reads", self.reads), ("writes", self.writes),
                  ("order of the output", self.order), ("assumptions", self.assumptions)]
        lines = [f"**`{self.name}`**: {self.question}", ""]
        lines += [f"- *{label}*: {value}" for label, value in fields if value]
        fence = "~~~~" if "```" in self.text else "```"
        return "\n".join([*lines, "", f"{fence}sql", self.text.rstrip("\n"), fence, "",
                          f"sha256 `{self.sha256}` (`scoping queries --show {self.name}` prints it)"])

    def __str__(self) -> str:
        return self.text

    def bind(self, values: dict[str, object]) -> dict[str, object]:
        """Check declared, used and supplied parameters agree; return the values to bind."""
        declared, supplied = set(self.params), set(values)
        if declared != supplied:
            raise ConfigError(
                f"query {self.name}: parameters supplied {sorted(supplied)} differ from those "
                f"declared {sorted(declared)}")
        return {k: values[k] for k in sorted(self.used_params())}


def _parse(name: str, text: str) -> Query:
    header: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        m = _HEADER.match(line)
        if m and m.group(1).lower() in _KEYS:
            key = m.group(1).lower()
            header[key] = (header.get(key, "") + " " + m.group(2).strip()).strip()
        elif key and line[2:].strip():  # a continuation line of the field above
            header[key] = (header[key] + " " + line[2:].strip()).strip()
    params = tuple(p.strip() for p in header.get("params", "").split(",")
                   if p.strip() and p.strip() != "none")
    return Query(name=name, question=header.get("question", ""), params=params,
                 reads=header.get("reads", ""), order=header.get("order", ""), text=text,
                 writes=header.get("writes", ""), assumptions=header.get("assumptions", ""))


def query(name: str) -> Query:
    """A shipped forensic query, as it runs: its question, parameters, tables read, assumptions and exact text (a
    notebook shows it as Markdown; `print` gives the text alone). `scoping queries` lists the names."""
    return get(name)


@cache
def get(name: str) -> Query:
    """The query `scoping/sql/<name>.sql`."""
    path = resources.files("scoping") / "sql" / f"{name}.sql"
    if not path.is_file():
        raise ConfigError(f"no shipped query named {name!r}", hint="`scoping queries` lists them")
    return _parse(name, path.read_text(encoding="utf-8"))


def all_queries() -> list[Query]:
    folder = resources.files("scoping") / "sql"
    names = sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".sql"))
    return [get(n) for n in names]


def quote_ident(name: str) -> str:
    """The one quoting helper for identifiers that must vary (a mapping's source column)."""
    if "\x00" in name:
        raise ConfigError(f"identifier {name!r} contains a NUL byte")
    return '"' + name.replace('"', '""') + '"'
