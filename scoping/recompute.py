"""`verify --recompute`: the run an output set shows, computed again from the store with the parameters its manifest
records, and every list, kit, report and timeline made again from it and compared byte for byte — the proof that
these files are the ones this evidence produces.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import polars as pl

from . import config, manifest, notify, runs, timesketch
from . import discover as _discover
from . import report as _report
from . import scope as _scope
from .engine import Engine
from .evidence import sha256_file
from .incident import Incident
from .result import ScopeResult, canonical_digest
from .store import Runner
from .writers import key_fingerprint


def recompute(runner: Runner, cfg: config.CaseConfig, folder: Path, v: manifest.Verification,
              key: bytes | None, *, engine: Engine | None = None) -> None:
    """Add to `v` every file of the set at `folder` that the recomputed run would not give byte for byte (the scans
    run on `engine`, the case's: every engine gives the same lists)."""
    body = manifest.read(folder) or {}
    run_id = body.get("output_set", {}).get("scope_run_id")
    if not run_id:
        v.notes.append("no scope run in this output set: nothing to recompute")
        return
    recorded = (body.get("runs") or {}).get(run_id)
    if not isinstance(recorded, dict) or not isinstance(recorded.get("parameters"), dict):
        v.other.append(f"the set's run {run_id} is not recorded in its manifest: nothing to recompute")
        return
    fingerprint = body["output_set"].get("pseudonymisation")
    if fingerprint and (key is None or key_fingerprint(key) != fingerprint):
        v.other.append("the set is pseudonymised: give its key (--pseudonymise-key) to recompute its lists")
        return
    params = dict(recorded["parameters"])
    try:
        incident = Incident.from_parameters(params)
        counted = bool(params["count_undetermined"])
    except (KeyError, TypeError, ValueError) as exc:
        v.other.append(f"run {run_id}: its recorded parameters cannot be read ({exc!r}): nothing to recompute")
        return
    again = _scope.scope(runner, cfg, incident, count_undetermined=counted, record=False, as_recorded=params,
                         engine=engine)
    # the report states when the run was first recorded: the time the set's run records (else the store's)
    first = str(recorded.get("first_recorded_at") or _first_recorded(runner, run_id))
    again = dataclasses.replace(again, run=dataclasses.replace(again.run, first_recorded_at=first))
    if again.run_id != run_id:
        v.other.append(f"recomputing run {run_id} gives run {again.run_id}: the store, the evidence, the SQL or "
                       f"the tool version differ from those the run recorded")
    expected = dict(again.lists_section(key if fingerprint else None).files)
    sections = body.get("sections") or {}
    for name, info in sections.items():
        if info.get("stage") == "notify":
            expected.update(_kit_again(cfg, again, name, info.get("options") or {}, v))
        elif info.get("stage") == "report":
            found = _discover.load_discovery(runner, info["depends"]["discover"]) \
                if (info.get("depends") or {}).get("discover") else None
            expected.update(_report.report_files(again, discovery=found))
        elif info.get("stage") == "timeline":
            expected["timeline/timesketch.jsonl"] = timesketch.timeline_lines(
                runner, again, with_patients=bool((info.get("options") or {}).get("with_patients")))
        elif info.get("stage") == "discover":
            v.notes.append("the discovery section is not recomputed (discovery ranks; it does not list patients)")
    recomputed = {n for n, i in sections.items() if i.get("stage") in ("scope", "notify", "report", "timeline")}
    listed = {rel: e for rel, e in body.get("files", {}).items() if e.get("section") in recomputed}
    for rel in sorted(set(expected) | set(listed)):
        v.recomputed += 1
        if rel not in listed:
            v.other.append(f"recomputed: {rel} should exist and is not in the set")
        elif rel not in expected:
            v.other.append(f"recomputed: {rel} is in the set but the computation gives no such file")
        elif hashlib.sha256(expected[rel]).hexdigest() != listed[rel]["sha256"]:
            v.other.append(f"recomputed: {rel} differs from what the evidence gives")
    for rel in sorted(set(expected) - set(listed)):
        if rel not in body.get("files", {}):
            v.other.append(f"recomputed: {rel} should exist and is not in the set")


def _kit_again(cfg: config.CaseConfig, result: ScopeResult, name: str, options: dict[str, Any],
               v: manifest.Verification) -> dict[str, bytes]:
    """The files of one kit, made again from a recomputed run with the options the manifest records."""
    try:
        lang, practice = str(options["lang"]), str(options["practice_id"])
        contacts = None
        if options.get("directory"):
            path = Path(options["directory"]["path"])
            if not path.is_file() or sha256_file(path)[0] != options["directory"]["sha256"]:
                v.other.append(f"{name}: its patient directory {path} is missing or changed: kit not recomputed")
                return {}
            contacts = notify.read_directory(path)
        words = notify.load_wording(lang, options.get("settings") or {}, cfg.root)
        if canonical_digest([dict(words.tables), words.letter]) != options.get("wording_sha256"):
            v.other.append(f"{name}: the wording tables changed since the kit was written: kit not recomputed")
            return {}
        kits = notify.kit_files(result, lang=lang, practices=[practice], directory=contacts,
                                include_attempted=bool(options.get("include_attempted")),
                                settings=options.get("settings") or {}, root=cfg.root)
    except (KeyError, TypeError) as exc:
        v.other.append(f"{name}: its recorded options cannot be read ({exc!r}): kit not recomputed")
        return {}
    return next(iter(kits.values()), {})


def _first_recorded(runner: Runner, run_id: str) -> str:
    listed = runs.list_runs(runner, "scope").filter(pl.col("run_id") == run_id)
    return str(listed["first_recorded_at_utc"][0] or "") if listed.height else ""
