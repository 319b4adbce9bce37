"""The canonical lake: a case's canonical tables as Parquet files any engine reads, and a case attached to them.

    LAKE/
      _lake.json                       what the lake holds: format version, tables and their row counts
      events/day=YYYY-MM-DD/*.parquet  one folder per UTC day, rows sorted by time
      account_hours/*.parquet          each account's hours (address, client, counts)
      evidence/ quarantine/ duplicates/ conflicts/ mappings/    the ledger: every line of every file accounted for
      accounts/ patients/ care/ ingest_runs/                     the reference tables

The schema is fixed (`lake_write.sql`): UTC microsecond timestamps, BIGINT (never HUGEINT: Spark reads it back as a
DOUBLE), the content digest as hex text. `write` builds a new lake beside the old one and swaps it in whole, so a
lake is always of one ingest. A case whose `[case] lake` names a lake reads every canonical table through views
over it (`lake_views.sql`): the same SQL files run unchanged, and give the same lists. A lake can be a folder
(relative to the case folder) or an object-store URI that DuckDB reads (`s3://…` with DuckDB's httpfs extension
loaded); scoping writes folders only.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import ConfigError, InputError
from .private import private_dir, private_files, tighten, write_private
from .store import Runner

MARKER = "_lake.json"
FORMAT = "scoping-lake"
VERSION = 2  # 2: the content digest is 64 bits (16 hex digits)
TABLES = ("events", "account_hours", "evidence", "quarantine", "duplicates", "conflicts", "mappings", "accounts",
          "patients", "care", "ingest_runs")


@dataclass(frozen=True)
class Lake:
    """Where a case's lake is: a local folder, or a URI DuckDB reads."""

    location: str

    @classmethod
    def of(cls, root: Path, setting: str) -> Lake:
        """`[case] lake`: a URI as written, a folder relative to the case folder."""
        if "://" in setting:
            return cls(setting.rstrip("/"))
        folder = Path(setting)
        return cls(str(folder if folder.is_absolute() else root / folder))

    @property
    def is_folder(self) -> bool:
        return "://" not in self.location

    @property
    def folder(self) -> Path:
        if not self.is_folder:
            raise ConfigError(f"the lake {self.location} is not a folder",
                              hint="scoping writes lakes into folders; copy the folder to the object store with "
                                   "its own tools")
        return Path(self.location)

    def path(self, table: str) -> str:
        """The folder of one table."""
        return f"{self.location}/{table}"

    def files(self, table: str) -> str:
        """The glob of one table's Parquet files."""
        return f"{self.location}/events/day=*/*.parquet" if table == "events" else f"{self.location}/{table}/*.parquet"

    def present(self) -> bool:
        """A lake was written here (object stores: assumed, DuckDB says otherwise when it reads)."""
        return not self.is_folder or (self.folder / MARKER).is_file()

    def info(self) -> dict[str, Any]:
        """What `_lake.json` says (empty for an object store)."""
        if not self.is_folder or not (self.folder / MARKER).is_file():
            return {}
        try:
            value: dict[str, Any] = json.loads((self.folder / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {self.folder / MARKER}: {exc}",
                             hint="write the lake again: scoping lake CASE") from exc
        if value.get("format") != FORMAT or value.get("version") != VERSION:
            raise ConfigError(f"{self.folder} is not a lake of this version of scoping "
                              f"({value.get('format')} {value.get('version')})",
                              hint="write the lake again: scoping lake CASE")
        return value

    def has(self, table: str) -> bool:
        return not self.is_folder or table in (self.info().get("tables") or {})

    def note_table(self, table: str, rows: int) -> None:
        """Record in `_lake.json` a table another engine wrote into the lake."""
        info = self.info()
        info.setdefault("tables", {})[table] = rows
        write_private(self.folder / MARKER, (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())


def _rows(runner: Runner, table: str) -> int:
    return int(runner.execute(f"lake_count_{table}", f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608


def write(runner: Runner, lake: Lake) -> dict[str, Any]:
    """Write the store's canonical tables as a new lake and swap it in whole; returns what `_lake.json` says.

    The runner must read the store's own tables (`detach` first)."""
    target = lake.folder
    if target.exists() and not (target / MARKER).is_file() and any(target.iterdir()):
        raise ConfigError(f"{target} exists and is not a lake: scoping does not write into another folder",
                          hint="name an empty or new folder in [case] lake")
    counts = {t: _rows(runner, t) for t in TABLES}
    if counts["events"] == 0:
        raise InputError("the case store holds no events: there is nothing to write into the lake",
                         hint="run `scoping ingest CASE` first")
    private_dir(target.parent)
    building = target.with_name(f".{target.name}.writing-{os.getpid()}")
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    for leftover in (building, old):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        with private_files():
            private_dir(building)
            for table in TABLES[1:]:
                private_dir(building / table)
            new = Lake(str(building))
            paths = {f"{t}_path": (new.path(t) if t == "events" else f"{new.path(t)}/data_0.parquet")
                     for t in TABLES}
            runner.run("lake_write", **paths)
            info = {"format": FORMAT, "version": VERSION, "tables": counts, "written_by": f"scoping {__version__}"}
            write_private(building / MARKER, (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
            for folder, _, names in os.walk(building):
                tighten(Path(folder))
                for name in names:
                    tighten(Path(folder) / name)
            if target.exists():
                target.rename(old)
            building.rename(target)
    except OSError as exc:
        raise InputError(f"cannot write the lake {target}: {exc.strerror or exc}",
                         hint="check the disk has space and the folder is writable") from exc
    finally:
        shutil.rmtree(building, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return info


def attach(runner: Runner, lake: Lake) -> None:
    """Every canonical table read through a view over the lake, for this connection."""
    missing = [t for t in TABLES if not lake.has(t)]
    if missing:
        raise ConfigError(f"the lake {lake.location} has no {', '.join(missing)}",
                          hint="write it again with `scoping lake CASE`, or let the Spark engine compute the "
                               "account hours ([case] engine = \"spark\")")
    runner.run("lake_views", **{f"{t}_files": lake.files(t) for t in TABLES})


def detach(runner: Runner) -> None:
    """Back to the store's own tables."""
    runner.run("lake_drop_views")
