"""What a scope run is, once computed: a frozen value that publishing, letters, figures and reports read.

A `ScopeResult` holds every table the run produced (polars DataFrames), its summary, the file name of each
practice, and the `RunRecord` that says how it was made (parameters, evidence and SQL digests, the trace of
statements). It is recorded in the case store under its run id, so `notify` and `report` publish exactly the
run that was computed, never a recomputation. The run id is a digest of what determines the result (incident,
options, evidence, SQL, tool version): the same inputs give the same id and the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import polars as pl

from . import lists, publish
from ._version import __version__
from .errors import ConfigError
from .incident import Incident
from .writers import key_fingerprint

# the tables of a scope run; the first eight are published as lists, the others feed the timeline and figures
FRAMES = ("affected", "attempted", "unassigned", "exposures", "pairs", "accesses", "segments", "accounts",
          "event_segments", "segment_bars", "first_reach", "hourly", "heatmap", "coverage", "log_gaps",
          "sequence_sources", "sequence_gaps")


VERDICT_ORDER = {"attacker": 0, "undetermined": 1, "owner": 2, "excluded": 3}


def in_local_time(frame: pl.DataFrame, tz: str) -> pl.DataFrame:
    """`frame` with every instant as a date-time of the zone `tz` (what an analyst reads), for display: a column of
    ISO 8601 text named `*_utc` (as the CSV files write instants) or a date-time with a zone becomes a date-time in
    `tz`, named without its `_utc`. Other columns are left as they are."""
    exprs = []
    for name, dtype in frame.schema.items():
        shown = name[:-4] if name.endswith("_utc") else name
        if shown != name and shown in frame.columns:
            shown = f"{shown}_local"
        if dtype == pl.String and name.endswith("_utc"):
            value = pl.col(name).str.to_datetime(time_zone="UTC", time_unit="us")
        elif isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            value = pl.col(name)
        else:
            continue
        exprs.append(value.dt.convert_time_zone(tz).alias(shown))
    renamed = frame.with_columns(exprs)
    order = [c[:-4] if c.endswith("_utc") and c[:-4] in renamed.columns else
             f"{c[:-4]}_local" if c.endswith("_utc") and f"{c[:-4]}_local" in renamed.columns else c
             for c in frame.columns]
    return renamed.select(order)


def canonical_digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class RunRecord:
    """How a run was made: enough for an auditor to re-run it, and for a later command to know it is stale."""

    run_id: str
    kind: str                      # 'scope' or 'discover'
    parameters: Mapping[str, Any]  # the incident as plain values, and the options of the run
    incident_sha256: str           # the incident alone (case.toml's), to tell when it changed
    evidence_sha256: str           # every evidence file and mapping the store held
    evidence: tuple[Mapping[str, Any], ...]
    sql: Mapping[str, str]         # query name → SHA-256 of the text that ran
    mappings: tuple[Mapping[str, Any], ...]
    trace: tuple[Mapping[str, Any], ...]
    tool_version: str = __version__
    recorded_at: str = ""
    case_id: str = ""              # the case whose store made the run (not part of its id)
    first_recorded_at: str = ""    # when a run of this id was first recorded: the time a report states
    # the engine that ran the scans (name, version, where the tables were read; for Spark the SHA-256 of the DuckDB
    # and Spark texts of each file it ran): not part of the id, since every engine must give the same lists
    engine: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "kind": self.kind, "parameters": dict(self.parameters),
                "incident_sha256": self.incident_sha256, "evidence_sha256": self.evidence_sha256,
                "evidence": [dict(e) for e in self.evidence], "sql": dict(self.sql),
                "mappings": [{k: v for k, v in m.items() if k != "sql"} for m in self.mappings],
                "trace": [dict(t) for t in self.trace], "tool_version": self.tool_version, "case_id": self.case_id,
                "first_recorded_at": self.first_recorded_at,
                "engine": dict(self.engine)}

    @staticmethod
    def make_id(kind: str, parameters: Mapping[str, Any], evidence_sha256: str, sql: Mapping[str, str]) -> str:
        return kind[0] + "-" + canonical_digest([kind, dict(parameters), evidence_sha256, dict(sql), __version__])[:12]


@dataclass(frozen=True)
class ScopeResult:
    """The result of `case.scope()`: tables as polars DataFrames, the summary, the run record; `export()` publishes
    the lists."""

    run: RunRecord
    incident: Incident
    frames: Mapping[str, pl.DataFrame] = field(repr=False)
    summary: Mapping[str, Any] = field(repr=False)
    practice_files: Mapping[str, str] = field(repr=False)
    home: Path | None = field(default=None, repr=False)  # the case's own output folder

    def __post_init__(self) -> None:
        missing = [f for f in FRAMES if f not in self.frames]
        if missing:
            raise ConfigError(f"run {self.run.run_id} lacks table(s) {', '.join(missing)}",
                              hint="it was recorded by another version of scoping: run `scoping scope CASE` again")
        object.__setattr__(self, "frames", MappingProxyType(dict(self.frames)))
        # the summary as the store keeps it (JSON, in its order): a run computed now and the same run loaded from the
        # store are the same value, and give the same report, byte for byte
        object.__setattr__(self, "summary", MappingProxyType(json.loads(json.dumps(dict(self.summary), default=str))))
        object.__setattr__(self, "practice_files", MappingProxyType(dict(self.practice_files)))

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def affected(self) -> pl.DataFrame:
        return self.frames["affected"]

    @property
    def attempted(self) -> pl.DataFrame:
        return self.frames["attempted"]

    @property
    def unassigned(self) -> pl.DataFrame:
        return self.frames["unassigned"]

    @property
    def exposures(self) -> pl.DataFrame:
        return self.frames["exposures"]

    @property
    def pairs(self) -> pl.DataFrame:
        return self.frames["pairs"]

    @property
    def accesses(self) -> pl.DataFrame:
        return self.frames["accesses"]

    @property
    def sessions(self) -> pl.DataFrame:
        """One row per segment (the part of a session from one address and one client), with its verdict."""
        return self.frames["segments"]

    @property
    def accounts(self) -> pl.DataFrame:
        return self.frames["accounts"]

    def by_controller(self, practice_id: str) -> pl.DataFrame:
        return self.affected.filter(pl.col("practice_id") == practice_id)

    @property
    def controllers(self) -> pl.DataFrame:
        """One row per practice with affected patients: its number in the report, patients by exposure, modified."""
        rows = list(self.summary["controllers"])
        return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()

    def in_local_time(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` (a table of this run, or a timeline) with its instants as date-times of the incident's zone."""
        return in_local_time(frame, self.incident.timezone)

    def segments_by_verdict(self) -> pl.DataFrame:
        """Every segment (sessions.csv) for review: the attacker's first, then the undetermined, then the owner's, each
        in time order, with local date-times and the full reasons."""
        ranked = self.sessions.with_columns(
            pl.col("verdict").replace_strict(VERDICT_ORDER, default=len(VERDICT_ORDER)).alias("_rank"))
        return self.in_local_time(ranked.sort("_rank", "segment_start_utc", "segment_key").drop("_rank"))

    def identity(self, pseudonymise_key: bytes | None = None) -> publish.SetIdentity:
        return publish.SetIdentity(evidence_sha256=self.run.evidence_sha256, evidence=self.run.evidence,
                                   scope_run_id=self.run_id,
                                   pseudonymisation=key_fingerprint(pseudonymise_key) if pseudonymise_key else None,
                                   case_id=self.run.case_id or None)

    def lists_section(self, pseudonymise_key: bytes | None = None) -> publish.Section:
        files = lists.scope_files(self.frames, self.summary, self.practice_files, pseudonymise_key=pseudonymise_key)
        return publish.Section("scope", "scope", files, run_id=self.run_id, run_kind="scope")

    def export(self, out: str | Path | None = None, *, pseudonymise_key: bytes | None = None) -> Path:
        """Publish the lists (DESIGN.md's output table) into `out` (the case's out/ by default), with the manifest;
        returns the folder. See `publish_lists`."""
        return self.publish_lists(out, pseudonymise_key=pseudonymise_key).folder

    def publish_lists(self, out: str | Path | None = None, *,
                      pseudonymise_key: bytes | None = None) -> publish.Published:
        """Publish the lists into `out` (the case's out/ by default), with the manifest.

        With `pseudonymise_key`, every patient id is replaced by a keyed hash (HMAC-SHA256) in every file: a set of
        outputs to share with someone who must not identify patients. The key is never written; the same key
        gives the same pseudonyms, so lists can be matched later."""
        if pseudonymise_key is not None and len(pseudonymise_key) < 16:
            raise ConfigError("the pseudonymisation key is too short", hint="use at least 16 random bytes")
        folder = Path(out) if out is not None else self.home
        if folder is None:
            raise ConfigError("no output folder given", hint="pass a folder: result.export('out')")
        return publish.publish(folder, sections=[self.lists_section(pseudonymise_key)],
                               identity=self.identity(pseudonymise_key), runs={self.run_id: self.run.as_dict()},
                               practice_files=self.practice_files, engine=engine_versions())


def engine_versions() -> dict[str, str]:
    return {"duckdb": duckdb.__version__, "polars": pl.__version__}
