"""The library entry point a notebook uses: `Case.open(path)`, then ingest, discover, scope, report."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from . import config
from . import ingest as _ingest
from .errors import ConfigError, InputError
from .store import Runner, connect

if TYPE_CHECKING:
    from .incident import Incident
    from .scope import ScopeResult

STORE = "case.duckdb"


@dataclass
class Case:
    """A case folder: case.toml, the store case.duckdb and the outputs in out/."""

    root: Path
    config: config.CaseConfig
    _runner: Runner | None = field(default=None, repr=False)

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, overwrite: bool = False) -> Case:
        """A new case folder with a commented case.toml to fill in."""
        from .casefile import TEMPLATE

        root = Path(path)
        toml = root / "case.toml"
        if toml.exists() and not overwrite:
            raise ConfigError(f"{toml} already exists", hint="open it with Case.open, or choose another folder")
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(root, 0o700)
        toml.write_text(TEMPLATE, encoding="utf-8")
        return cls.open(root)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Case:
        root = Path(path)
        if not root.is_dir():
            raise ConfigError(f"case folder {root} not found", hint="create one with `scoping init CASE`")
        return cls(root=root, config=config.load(root))

    # -- the store -----------------------------------------------------------------------------
    @property
    def store_path(self) -> Path:
        return self.root / STORE

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            con = connect(self.store_path, memory_limit=self.config.memory_limit, threads=self.config.threads,
                          max_temp_directory_size=self.config.max_temp_directory_size)
            self._runner = Runner(con)
            self._runner.run("store_schema")
        return self._runner

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.runner.con

    def close(self) -> None:
        if self._runner is not None:
            self._runner.con.close()
            self._runner = None

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sql(self, query: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """An ad-hoc question to the store, values bound as `$name` parameters."""
        try:
            df: pl.DataFrame = self.con.sql(query, params=params or {}).pl()
            return df
        except duckdb.Error as exc:
            raise ConfigError(f"query failed: {str(exc).splitlines()[0]}") from exc

    # -- the stages ------------------------------------------------------------------------------
    def ingest(self, sources: list[str] | None = None, *, progress: bool | None = None,
               force: bool = False) -> _ingest.IngestReport:
        """Load evidence files and reference tables named in case.toml (all sources by default)."""
        return _ingest.ingest(self.runner, self.config, sources=sources, progress=progress, force=force)

    def incident(self) -> Incident:
        """The incident defined in case.toml (validated against the store's accounts)."""
        from .incident import parse_incident

        return parse_incident(self.config.incident, where="case.toml [incident]")

    def scope(self, incident: Incident | None = None, *, count_undetermined: bool | None = None,
              verify_evidence: bool = True) -> ScopeResult:
        """Attribute sessions and compute exposures for `incident` (case.toml's by default).

        Every evidence file is re-hashed first and a change stops the run (`verify_evidence=False` skips it,
        e.g. in a notebook re-running scope many times on untouched files)."""
        from .scope import scope

        return scope(self, incident or self.incident(), count_undetermined=count_undetermined,
                     verify_evidence=verify_evidence)

    def discover(self, **kwargs: Any) -> pl.DataFrame:
        """Rank accounts that look compromised, with the reasons, over the store's events."""
        from .discover import discover

        found: pl.DataFrame = discover(self, **kwargs).accounts
        return found

    def require_events(self) -> None:
        n = self.con.execute("SELECT count(*) FROM events").fetchone()
        if not n or not n[0]:
            raise InputError("the case store holds no events", hint="run `scoping ingest CASE` first")
