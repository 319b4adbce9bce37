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
(relative to the case folder) or a URI, read by DuckDB itself (`s3://…` with its httpfs extension, installed
beforehand: the case store's connections never download an extension) or, with `[case] lake_filesystem = "fsspec"`,
through the fsspec file system of its scheme (s3fs, gcsfs, adlfs: Python packages, no DuckDB extension). A lake at a
URI must hold its `_lake.json`, read first through the same file system; what cannot be read is a ConfigError or an
InputError naming the lake and what to install or check. scoping writes folders only (copy one whole to the store);
the tests read a lake at `memory://` (fsspec's, in the process: no network) and compare its lists byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import ConfigError, InputError, IntegrityError
from .private import private_dir, private_files, tighten, write_private
from .store import Runner

MARKER = "_lake.json"
FORMAT = "scoping-lake"
VERSION = 2  # 2: the content digest is 64 bits (16 hex digits)
TABLES = ("events", "account_hours", "evidence", "quarantine", "duplicates", "conflicts", "mappings", "accounts",
          "patients", "care", "ingest_runs")


@dataclass(frozen=True)
class Lake:
    """Where a case's lake is: a local folder, or a URI DuckDB reads (itself, or through fsspec)."""

    location: str
    filesystem: str = "duckdb"  # [case] lake_filesystem: who reads a URI, DuckDB's extensions or fsspec

    @classmethod
    def of(cls, root: Path, setting: str, *, filesystem: str = "duckdb") -> Lake:
        """`[case] lake`: a URI as written, a folder relative to the case folder."""
        if "://" in setting:
            return cls(setting.rstrip("/"), filesystem)
        folder = Path(setting)
        return cls(str(folder if folder.is_absolute() else root / folder), filesystem)

    @property
    def scheme(self) -> str:
        return self.location.split("://", 1)[0] if not self.is_folder else "file"

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

    def uri(self, table: str) -> str:
        """The folder of one table as another engine must be told it: a folder lake as an absolute file URI (a
        Spark Connect server or a cluster resolves a relative path against its own working folder, and would read
        another lake found there), a lake at a URI as it is."""
        return Path(self.path(table)).resolve().as_uri() if self.is_folder else self.path(table)

    def files(self, table: str) -> str:
        """The glob of one table's Parquet files."""
        return f"{self.location}/events/day=*/*.parquet" if table == "events" else f"{self.location}/{table}/*.parquet"

    def present(self) -> bool:
        """A lake was written here (object stores: assumed, DuckDB says otherwise when it reads)."""
        return not self.is_folder or (self.folder / MARKER).is_file()

    def info(self) -> dict[str, Any]:
        """What `_lake.json` says (empty for an object store: `attach` reads it there through DuckDB)."""
        if not self.is_folder or not (self.folder / MARKER).is_file():
            return {}
        try:
            text = (self.folder / MARKER).read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {self.folder / MARKER}: {exc}",
                             hint="write the lake again: scoping lake CASE") from exc
        return _lake_info(text, str(self.folder))

    def has(self, table: str) -> bool:
        return not self.is_folder or table in (self.info().get("tables") or {})

    def note_table(self, table: str, rows: int) -> None:
        """Record in `_lake.json` a table another engine wrote into the lake."""
        info = self.info()
        info.setdefault("tables", {})[table] = rows
        write_private(self.folder / MARKER, (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())


def _lake_info(text: str, where: str) -> dict[str, Any]:
    """`_lake.json`, checked: a lake of this format and version."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputError(f"cannot read {where}/{MARKER}: {exc}",
                         hint="write the lake again: scoping lake CASE") from exc
    if not isinstance(value, dict) or value.get("format") != FORMAT or value.get("version") != VERSION:
        found = value if not isinstance(value, dict) else f"{value.get('format')} {value.get('version')}"
        raise ConfigError(f"{where} is not a lake of this version of scoping ({found})",
                          hint="write the lake again: scoping lake CASE")
    return value


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
    """Every canonical table read through a view over the lake, for this connection.

    A lake at a URI is read by DuckDB's own file systems (`s3://` with its httpfs extension, installed beforehand:
    scoping's connections never download one), or, with `[case] lake_filesystem = "fsspec"`, by the fsspec file
    system of its scheme, registered with the connection here; its `_lake.json` is read the same way first."""
    if lake.is_folder:
        info = lake.info()
    else:
        if lake.filesystem == "fsspec":
            _register_fsspec(runner, lake)
        with _reading(lake):
            rows = runner.run("lake_marker", marker_path=f"{lake.location}/{MARKER}")
        if not rows:
            raise ConfigError(f"no scoping lake at {lake.location}: it holds no {MARKER}",
                              hint="[case] lake names the lake's own folder (the one holding _lake.json, events/ and "
                                   "account_hours/), copied whole from the folder `scoping lake CASE` wrote")
        info = _lake_info(str(rows[0][0]), lake.location)
    missing = [t for t in TABLES if t not in (info.get("tables") or {})]
    if missing:
        raise ConfigError(f"the lake {lake.location} has no {', '.join(missing)}",
                          hint="write it again with `scoping lake CASE`, or let the Spark engine compute the "
                               "account hours ([case] engine = \"spark\")" if lake.is_folder else
                               "write it again with `scoping lake CASE` and copy the folder whole")
    with _reading(lake):
        runner.run("lake_views", **{f"{t}_files": lake.files(t) for t in TABLES})
        read = {t: _rows(runner, t) for t in TABLES}
    written = {t: int(n) for t, n in (info.get("tables") or {}).items() if t in TABLES}
    differ = [f"{t}: {read[t]:,} rows read, {written[t]:,} written" for t in TABLES if read[t] != written[t]]
    if differ:  # a day's folder lost, or a file added: the lists would silently miss or gain accesses
        detach(runner)
        raise IntegrityError(f"the lake {lake.location} does not hold what was written into it ({'; '.join(differ)})",
                             hint="a file of the lake is missing or was added: write it again from the store with "
                                  "`scoping lake CASE`, or copy it again whole")


@contextmanager
def _reading(lake: Lake) -> Iterator[None]:
    """DuckDB's errors on a lake at a URI, said in terms of the lake and of what to install or check."""
    if lake.is_folder:
        yield
        return
    try:
        yield
    except (InputError, ConfigError) as exc:  # DuckDB's, mapped by the runner
        text = str(exc.__cause__ or exc)
        extension = re.search(r"INSTALL (\w+)", text)
        if extension:
            raise ConfigError(f"DuckDB reads {lake.scheme}:// with its {extension.group(1)} extension, which is not "
                              f"installed here (the lake {lake.location})",
                              hint=f"install it once beforehand (python -c \"import duckdb; duckdb.sql('INSTALL "
                                   f"{extension.group(1)}')\" downloads it; scoping never does), or read the lake "
                                   f"through fsspec: lake_filesystem = \"fsspec\" in [case], with the package of its "
                                   f"scheme (s3fs, gcsfs, adlfs)") from exc
        raise InputError(f"cannot read the lake at {lake.location}: {text.splitlines()[0]}",
                         hint="check [case] lake, and that this machine may read it (credentials come from the "
                              "environment, or from fsspec's configuration with lake_filesystem = \"fsspec\")"
                         ) from exc


def _register_fsspec(runner: Runner, lake: Lake) -> None:
    """The fsspec file system of the lake's scheme, for DuckDB to read the lake through (no DuckDB extension)."""
    try:
        import fsspec
    except ImportError as exc:
        raise ConfigError('[case] lake_filesystem = "fsspec" needs fsspec, which is not installed',
                          hint=f"pip install fsspec, and the package for {lake.scheme}:// (s3fs, gcsfs, adlfs)"
                          ) from exc
    try:
        fs = fsspec.filesystem(lake.scheme)  # its options (credentials, endpoint) from fsspec's own configuration
    except ImportError as exc:
        raise ConfigError(f"fsspec reads {lake.scheme}:// with a package that is not installed: {exc}",
                          hint="pip install that package (s3fs for s3://, gcsfs for gs://, adlfs for az:// and "
                               "abfs://)") from exc
    except ValueError as exc:
        raise ConfigError(f"fsspec knows no file system for {lake.scheme}:// (the lake {lake.location})",
                          hint="check the scheme of [case] lake, or install the package that provides it") from exc
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    if not any(runner.con.filesystem_is_registered(p) for p in protocols):
        runner.con.register_filesystem(fs)


def detach(runner: Runner) -> None:
    """Back to the store's own tables."""
    runner.run("lake_drop_views")
