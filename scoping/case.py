"""The library entry point a notebook uses: `Case.open(path)`, then ingest, discover, scope, publish, notify, report.

`Case` is a thin facade: it opens the store, reads case.toml, and calls the stages (which compute and return
frozen results) and the publisher (which owns the output folders). Every method runs with private file
permissions and turns errors of other libraries into scoping's own at one boundary.

    case = Case.open("cases/breach")
    case.ingest()
    result = case.scope()                 # computed and recorded in the store; no file written
    case.publish(result)                  # the lists, into out/
    case.notify(result, lang="fr")        # one kit per practice, into out/notify/fr/
    case.report(result)                   # report.html and figures, into out/
    case.verify()                         # every output and evidence file against the manifest
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl

from . import config, drill, manifest, notify, runs, timesketch
from . import discover as _discover
from . import ingest as _ingest
from . import recompute as _recompute
from . import report as _report
from . import scope as _scope
from .boundary import foreign_errors
from .casefile import TEMPLATE
from .completeness import check_evidence_complete
from .dryrun import DryRunReport, dry_run
from .engine import DuckDBEngine, Engine
from .errors import ConfigError, IntegrityError
from .evidence import sha256_file
from .incident import Incident, parse_incident, parse_time
from .lake import Lake
from .lake import attach as attach_lake
from .lake import detach as detach_lake
from .lake import write as write_lake
from .private import private_dir, private_files, write_private
from .progress import Progress
from .publish import Published, Section, SetIdentity, publish_set
from .result import ScopeResult, canonical_digest, engine_versions
from .store import Runner, connect, ensure_schema

STORE = "case.duckdb"
T = TypeVar("T")


@dataclass
class Case:
    """A case folder: case.toml, the store case.duckdb and the output set in out/."""

    root: Path
    config: config.CaseConfig
    _runner: Runner | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, overwrite: bool = False) -> Case:
        """A new case folder (0700) with a commented case.toml to fill in."""
        root = Path(path)
        toml = root / "case.toml"
        if toml.exists() and not overwrite:
            raise ConfigError(f"{toml} already exists", hint="open it with Case.open, or choose another folder")
        with foreign_errors("init"):
            private_dir(root)
            write_private(toml, TEMPLATE.encode())
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
    def out(self) -> Path:
        """The case's own output folder."""
        return self.root / "out"

    @property
    def runner(self) -> Runner:
        """The case's connection, every stage reading the lake once one is written."""
        if self._runner is None:
            self._store_runner()
            self._attach_lake()
        assert self._runner is not None
        return self._runner

    def _store_runner(self) -> Runner:
        """The connection to the store, the lake not attached (what writes the lake, and what checks a manifest,
        need no lake: a lake of an earlier version must not stop them)."""
        if self._runner is None:
            with foreign_errors("open the case store"):
                con = connect(self.store_path, memory_limit=self.config.memory_limit, threads=self.config.threads,
                              max_temp_directory_size=self.config.max_temp_directory_size)
                self._runner = Runner(con)
                ensure_schema(self._runner)
        return self._runner

    # -- the lake and the engine ---------------------------------------------------------------
    @property
    def lake(self) -> Lake | None:
        """The case's Parquet lake ([case] lake), if it has one."""
        setting = self.config.lake
        return Lake.of(self.root, setting, filesystem=self.config.lake_filesystem) if setting else None

    @property
    def engine(self) -> Engine:
        """What runs the scans of every event: DuckDB over the store or the lake, or Spark over the lake."""
        if self._engine is None:
            lake = self.lake
            if self.config.engine == "spark" and lake is not None:
                try:
                    from .spark_engine import SparkEngine
                except ImportError as exc:
                    raise ConfigError(f'[case] engine = "spark" needs {exc.name or "a package"}, which is not '
                                      f'installed', hint='pip install "scoping[spark]"') from exc
                self._engine = SparkEngine(self.config.spark, lake)
            else:
                self._engine = DuckDBEngine(tables="lake" if lake is not None and lake.present() else "store")
        return self._engine

    def _attach_lake(self) -> None:
        """Every stage reads the lake, once one is written: views over its files hide the store's tables."""
        lake, runner = self.lake, self._runner
        if lake is None or runner is None or not lake.present():
            return
        with foreign_errors("attach the lake"):
            engine = self.engine
            if isinstance(engine, DuckDBEngine) and engine.tables != "lake":
                self._engine = DuckDBEngine(tables="lake")
            ensure = getattr(engine, "ensure_lake_hours", None)
            if ensure is not None:
                ensure(runner)
            attach_lake(runner, lake)

    def write_lake(self) -> dict[str, Any]:
        """Write the store's canonical tables into the case's lake ([case] lake), replacing it whole."""
        lake = self.lake
        if lake is None:
            raise ConfigError("this case has no lake: [case] lake is not set in case.toml",
                              hint='add lake = "lake" to [case]')
        with self._step("write the lake"):
            runner = self._store_runner()  # a lake of an earlier version is written again, never attached first
            detach_lake(runner)
            info = write_lake(runner, lake)
            self._engine = None
            self._attach_lake()
            return info

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

    def _out(self, out: str | Path | None) -> Path:
        """An output folder: the case's own out/ by default; never the case folder or a folder holding it."""
        folder = Path(out) if out else self.out
        if self.root.resolve().is_relative_to(Path(os.path.abspath(folder)).resolve()):
            raise ConfigError(f"{folder} holds the case folder itself: an output folder is scoping's alone",
                              hint=f"give a folder of its own, e.g. {self.out}")
        return folder

    @contextmanager
    def _step(self, where: str) -> Iterator[None]:
        with private_files(), foreign_errors(where):
            yield

    def sql(self, query: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """An ad-hoc question to the store (one SELECT), values bound as `$name` parameters."""
        with self._step("query"):
            statements = self.con.extract_statements(query)
            if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
                raise ConfigError("case.sql answers one SELECT statement",
                                  hint="the store is evidence: change it only through scoping's commands")
            try:
                df: pl.DataFrame = self.con.sql(query, params=params or {}).pl()
            except duckdb.Error as exc:
                raise ConfigError(f"query failed: {str(exc).splitlines()[0]}") from exc
        return df

    def timeline(self, *, patient: str | None = None, account: str | None = None, address: str | None = None,
                 session: str | None = None, since: str | None = None, until: str | None = None,
                 raw: bool = False, run_id: str | None = None, limit: int = 1000) -> pl.DataFrame:
        """Every logged event behind a patient, an account, an address or a log session, oldest first, with the
        evidence file and line it comes from, and the verdict of its segment in a recorded run (the latest by
        default, when it rests on the evidence the store holds now); `raw=True` adds the line itself, read back
        from the (re-hashed) evidence."""
        with self._step("timeline"):
            tz = (self.config.incident or {}).get("timezone", "UTC")
            rows = drill.events(self.runner, patient=patient, account=account, address=address, session=session,
                                since=parse_time(since, tz, "--from") if since else None,
                                until=parse_time(until, tz, "--to") if until else None, limit=limit)
            rows = rows.join(self._verdicts(run_id), on=["event_key", "account_id"], how="left")
            return drill.with_raw_lines(self.runner, self.root, rows) if raw else rows

    def _verdicts(self, run_id: str | None) -> pl.DataFrame:
        empty = pl.DataFrame(schema={"event_key": pl.String, "account_id": pl.String, "segment_key": pl.String,
                                     "verdict": pl.String})
        if runs.list_runs(self.runner, "scope").is_empty():
            return empty
        try:
            result = _scope.load_run(self.runner, run_id)
        except ConfigError:
            if run_id:
                raise
            return empty  # the latest run was recorded by another version: no verdicts rather than wrong ones
        if result.run.evidence_sha256 != runs.evidence_state(self.runner)[0]:
            return empty  # verdicts of other evidence would mislead
        return result.frames["event_segments"]

    # -- the stages: they compute and return frozen results ------------------------------------
    def ingest(self, sources: list[str] | None = None, *, progress: bool | None = None,
               force: bool = False) -> _ingest.IngestReport:
        """Load evidence files and reference tables named in case.toml (all sources by default); a file whose
        source definition changed since is read again (`force`: every file)."""
        lake = self.lake
        if lake is not None and not lake.is_folder:
            raise ConfigError(f"this case reads its lake at {lake.location}: scoping ingests into a lake folder only",
                              hint="ingest in the case that wrote the lake, or name a folder in [case] lake")
        with self._step("ingest"):
            if lake is not None:
                detach_lake(self.runner)  # ingest reads and writes the store's own tables
            report = _ingest.ingest(self.runner, self.config, sources=sources, progress=progress, force=force)
        if lake is not None:
            self.write_lake()
        return report

    def incident(self, table: dict[str, Any] | None = None) -> Incident:
        """The incident defined in case.toml, or the one of `table` (an [incident] table: a discovery's
        `proposed_incident()`, say), checked the same way. Rule on a segment with `incident.with_decision(...)`."""
        if table is not None:
            return parse_incident(table, where="the incident table given")
        return parse_incident(self.config.incident, where="case.toml [incident]")

    def dry_run(self, sources: list[str] | None = None, *, sample: int = 1000) -> DryRunReport:
        """Try the mappings of case.toml on the first `sample` lines of every file (`scoping ingest --dry-run`):
        rule hits, unmapped values, quarantine reasons and a few mapped rows per source. Neither the store nor any
        file is created or changed."""
        with self._step("dry run"):
            return dry_run(self.config, sample=sample, sources=sources)

    def discover(self, **kwargs: Any) -> _discover.DiscoveryResult:
        """Rank accounts that look compromised, with the reasons; the run is recorded in the store."""
        with self._step("discover"):
            return _discover.discover(self.runner, self.config, engine=self.engine, **kwargs)

    def scope(self, incident: Incident | None = None, *, count_undetermined: bool | None = None,
              check_evidence: bool = True) -> ScopeResult:
        """Attribute segments and compute exposures for `incident` (case.toml's by default); the run is recorded in
        the store and returned. Every evidence file is re-hashed first (`check_evidence=False` skips it, e.g. in a
        notebook re-running scope many times on untouched files). Nothing is written to out/: see `publish`."""
        with self._step("scope"):
            return _scope.scope(self.runner, self.config, incident or self.incident(),
                                count_undetermined=count_undetermined, check_evidence=check_evidence,
                                home=self.out, engine=self.engine)

    def runs(self) -> pl.DataFrame:
        """Every recorded run, newest first, with when it was recorded last and first (a report states the first)."""
        with self._step("runs"):
            return runs.list_runs(self.runner).select("run_id", "kind", "recorded_at_utc", "first_recorded_at_utc",
                                                      "tool_version", "incident_sha256", "evidence_sha256")

    def run(self, run_id: str | None = None, *, check_evidence: bool = True) -> ScopeResult:
        """A recorded scope run (the latest by default), exactly as computed — after checking it still describes
        this case: the evidence the store holds (and, with `check_evidence`, the files on disk) must be the ones it
        was computed from; the latest run must also be of the incident case.toml defines now."""
        with self._step("load a run"):
            result = _scope.load_run(self.runner, run_id, home=self.out)
            digest, _ = runs.evidence_state(self.runner)
            again = "run `scoping scope CASE` again"
            if digest != result.run.evidence_sha256:
                raise IntegrityError(f"the evidence changed since run {result.run_id} was scoped (files ingested, "
                                     f"re-read or superseded)", hint=again)
            if check_evidence:
                check_evidence_complete(self.runner, self.config)
            if run_id is None and self.config.incident and self.incident().digest() != result.run.incident_sha256:
                raise ConfigError(f"the incident in case.toml changed since run {result.run_id} was scoped",
                                  hint=f"{again}, or publish that run as it was with --run {result.run_id}")
            recorded_gap = result.run.parameters.get("session_gap_minutes")
            if run_id is None and recorded_gap not in (None, self.config.session_gap_minutes):
                raise ConfigError(f"[case] session_gap_minutes changed since run {result.run_id} was scoped "
                                  f"({recorded_gap} then, {self.config.session_gap_minutes} now)",
                                  hint=f"{again}, or publish that run as it was with --run {result.run_id}")
            return result

    def discovery(self) -> _discover.DiscoveryResult | None:
        """The latest recorded discovery, if it was run on the evidence the store holds now."""
        with self._step("load a discovery"):
            listed = runs.list_runs(self.runner, "discover")
            if listed.is_empty():
                return None
            found = _discover.load_discovery(self.runner)
            digest, _ = runs.evidence_state(self.runner)
            return found if found.run.evidence_sha256 == digest else None

    # -- publishing: one publisher owns each output folder -------------------------------------
    def publish(self, result: ScopeResult, *, out: str | Path | None = None,
                pseudonymise_key: bytes | None = None) -> Published:
        """The lists of a run (affected, per practice, attempted, unassigned, accesses, sessions, summary)."""
        with self._step("publish"):
            return result.publish_lists(self._out(out), pseudonymise_key=pseudonymise_key)

    def notify(self, result: ScopeResult, *, lang: str = "fr", practices: list[str] | None = None,
               directory: str | Path | None = None, include_attempted: bool = False,
               out: str | Path | None = None, progress: Progress | None = None) -> Published:
        """One kit per practice (or the named ones), in one language, into out/notify/<lang>/; the kits of other
        languages stay beside them. `progress` hears of each kit made ("kits", done, total)."""
        with self._step("notify"):
            folder = self._out(out)
            if _pseudonymisation(folder):
                raise ConfigError(f"{folder} is a pseudonymised output set: kits name patients",
                                  hint="write the kits into another output folder (--out DIR), or publish the "
                                       "lists there without a key first (scoping scope CASE --out DIR)")
            contacts = notify.read_directory(Path(directory)) if directory else None
            settings = self.config.raw.get("notify", {}) or {}
            kits = notify.kit_files(result, lang=lang, practices=practices, directory=contacts,
                                    include_attempted=include_attempted, settings=settings, root=self.root,
                                    progress=progress)
            words = notify.load_wording(lang, settings, self.root)
            options = {  # everything a kit is made from besides the run: `verify --recompute` makes it again
                "lang": lang, "include_attempted": include_attempted, "settings": dict(settings),
                "wording_sha256": canonical_digest([dict(words.tables), words.letter]),
                "directory": {"path": os.path.abspath(directory), "sha256": sha256_file(Path(directory))[0]}
                if directory else None}
            names = {name: practice for practice, name in result.practice_files.items()}
            sections = [Section(f"notify/{lang}/{name}", "notify", files, run_id=result.run_id, run_kind="scope",
                                options={**options, "practice_id": names[name]})
                        for name, files in sorted(kits.items())]
            replace = [f"notify/{lang}"] if not practices else []
            return self._publish_run(result, folder, sections, replace)

    def report(self, result: ScopeResult, *, out: str | Path | None = None,
               progress: Progress | None = None) -> Published:
        """report.html, report_shareable.html and the figures of a run (with the latest discovery on the same
        evidence, when there is one). `progress` hears of each figure drawn ("figures", done, total)."""
        with self._step("report"):
            found = self.discovery()
            files = _report.report_files(result, discovery=found, progress=progress)
            section = Section("report", "report", files, run_id=result.run_id, run_kind="scope",
                              depends={"discover": found.run_id if found else None})
            return self._publish_run(result, self._out(out), [section], [])

    def export_timeline(self, result: ScopeResult, *, with_patients: bool = False,
                        out: str | Path | None = None) -> Published:
        """The compromised accounts' events of the windows, each with its segment's verdict, as Timesketch JSON lines
        (`timeline/timesketch.jsonl`); patient ids only when asked for."""
        with self._step("export the timeline"):
            folder = self._out(out)
            if with_patients and _pseudonymisation(folder):
                raise ConfigError(f"{folder} is a pseudonymised output set: a timeline naming patients cannot go there",
                                  hint="leave out --with-patients, or choose another output folder")
            data = timesketch.timeline_lines(self.runner, result, with_patients=with_patients)
            section = Section("timeline", "timeline", {"timeline/timesketch.jsonl": data}, run_id=result.run_id,
                              run_kind="scope", options={"with_patients": with_patients})
            return self._publish_run(result, folder, [section], [])

    def publish_discovery(self, found: _discover.DiscoveryResult, *,
                          out: str | Path | None = None) -> Published:
        """discovery.csv, discovery_sessions.csv and proposed_incident.toml."""
        with self._step("publish discovery"):
            folder = self._out(out)
            current = manifest.read(folder) if folder.is_dir() else None
            existing = (current or {}).get("output_set", {})
            identity = SetIdentity(evidence_sha256=found.run.evidence_sha256, evidence=found.run.evidence,
                                           pseudonymisation=existing.get("pseudonymisation")
                                           if existing.get("evidence_sha256") == found.run.evidence_sha256 else None)
            section = Section("discover", "discover", found.files(), run_id=found.run_id,
                                      run_kind="discover")
            return publish_set(folder, sections=[section], identity=identity,
                                   runs={found.run_id: found.run.as_dict()}, engine=engine_versions())

    def _publish_run(self, result: ScopeResult, folder: Path, sections: list[Section],
                     replace: list[str]) -> Published:
        fingerprint = _pseudonymisation(folder)
        identity = result.identity()
        if fingerprint:  # a report of a pseudonymised set: the set stays pseudonymised, its lists are kept
            identity = SetIdentity(identity.evidence_sha256, identity.evidence, identity.scope_run_id,
                                           fingerprint)
        return publish_set(folder, sections=sections, identity=identity, runs={result.run_id: result.run.as_dict()},
                               replace=replace, practice_files=result.practice_files,
                               needs={"scope": _lists(result, fingerprint)}, engine=engine_versions())

    def verify(self, out: str | Path | None = None, *, recompute: bool = False,
               pseudonymise_key: bytes | None = None) -> manifest.Verification:
        """Re-hash every output file and every evidence file against the manifest; name every difference.

        With `recompute`, the run the set shows is computed again from the store, with the parameters the manifest
        records, and every list, kit and report file is made again from it (kits with their recorded language,
        directory and wording; the report with its recorded discovery) and compared byte for byte (a pseudonymised set
        needs its key): the proof that these files are the ones this evidence produces."""
        with self._step("verify"):
            folder = self._out(out)
            v = manifest.verify(self.root, folder, case_id=runs.case_id(self._store_runner()))
            if recompute:
                _recompute.recompute(self.runner, self.config, folder, v, pseudonymise_key, engine=self.engine)
            return v


def _pseudonymisation(folder: Path) -> str | None:
    current = manifest.read(folder) if folder.is_dir() else None
    value = (current or {}).get("output_set", {}).get("pseudonymisation")
    return str(value) if value else None


def _lists(result: ScopeResult, fingerprint: str | None) -> Callable[[], Section]:
    def build() -> Section:
        if fingerprint:
            raise ConfigError(f"this pseudonymised output set does not hold the lists of run {result.run_id}",
                              hint="publish them first: scoping scope CASE --out DIR --pseudonymise-key KEYFILE")
        return result.lists_section()

    return build
