"""The one publisher of output folders: every file scoping writes under CASE/out/ (or --out DIR) goes through here.

An output set is built whole in a temporary sibling folder and swapped in by rename, so a killed command leaves
the previous set intact, and the manifest is rebuilt over every file of the new set each time any stage
publishes. The rules that keep a set coherent:

- a set shows **one scope run**: publishing run B drops every section that showed run A (lists, kits, report),
  and kits or a report of run B bring B's lists with them when the set does not hold them yet;
- a set rests on **one state of the evidence**: a section computed on other evidence (a discovery) is dropped;
- a set is **pseudonymised or not, as a whole**: a publish in the other mode (or with another key) starts a new
  set;
- scoping **owns** the folder: a set whose files no longer match its manifest, or that holds files scoping did
  not write, is never built upon (its damage would be laundered into a new manifest); the user moves it aside.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import manifest
from .errors import ConfigError, IntegrityError
from .private import private_dir, private_files, write_private
from .writers import json_bytes


@dataclass(frozen=True)
class Section:
    """Files one stage writes for one run, under one name (`scope`, `report`, `discover`, `notify/fr/PR001`)."""

    name: str
    stage: str
    files: Mapping[str, bytes]
    run_id: str | None = None
    run_kind: str | None = None  # 'scope' sections follow the set's scope run; 'discover' ones its evidence
    depends: Mapping[str, str | None] = field(default_factory=dict)  # section → the run of it this one shows
    options: Mapping[str, Any] = field(default_factory=dict)  # how it was made (kits: language, directory…)


@dataclass(frozen=True)
class SetIdentity:
    """What every section of a set must share."""

    evidence_sha256: str
    evidence: tuple[Mapping[str, Any], ...]
    scope_run_id: str | None = None
    pseudonymisation: str | None = None  # the key's fingerprint, None when patient ids are real
    case_id: str | None = None  # the case whose store made the runs: one case per output set


# the command that makes each section again
REMAKE = {"scope": "scope", "discover": "discover", "report": "report", "notify": "notify",
          "timeline": "export-timeline"}


@dataclass
class Published:
    folder: Path
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{len(self.written)} file(s) written"]
        if self.kept:
            parts.append(f"{len(self.kept)} section(s) kept")
        if self.dropped:
            again = [f"scoping {REMAKE[s.split('/')[0]]} CASE" for s in self.dropped if s.split("/")[0] in REMAKE]
            parts.append(f"removed, as they showed another run or other evidence: {', '.join(self.dropped)}"
                         + (f" (to make them again: {'; '.join(dict.fromkeys(again))})" if again else ""))
        return f"{self.folder}: " + "; ".join(parts)


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """One publisher at a time per output folder (another process waits)."""
    with private_files():  # a missing parent is created private; an existing one is left as its owner set it
        out.parent.mkdir(parents=True, exist_ok=True)
    lock = out.parent / f".{out.name}.lock"
    with private_files():
        fh = lock.open("a")
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: the case store's own lock serialises commands
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


def recover(out: Path) -> None:
    """Undo what an interrupted publish left: put the previous set back, remove half-built ones."""
    olds = manifest.leftovers(out, "old")
    if not out.exists() and olds:
        os.rename(olds[-1], out)
        olds = olds[:-1]
    for leftover in [*olds, *manifest.leftovers(out, "tmp")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _current(out: Path) -> dict[str, Any] | None:
    if not out.exists():
        return None
    if not out.is_dir():
        raise ConfigError(f"{out} exists and is not a folder", hint="choose another output folder")
    current = manifest.read(out)
    on_disk = manifest.files_on_disk(out)
    if current is None:
        if on_disk:
            raise IntegrityError(f"{out} holds files but no {manifest.NAME}: scoping did not write it",
                                 hint=f"move its files elsewhere (scoping owns {out.name}/), then run again")
        return None
    check = manifest.check_files(out, current)
    if not check.ok:
        listing = "; ".join(check.problems[:8]) + (" …" if len(check.problems) > 8 else "")
        raise IntegrityError(f"{out} no longer matches its manifest ({listing})",
                             hint=f"keep it for inspection: move it aside (e.g. rename {out.name}/ to "
                                  f"{out.name}.damaged/), then run the commands that write it again")
    return current


def _keeps(name: str, info: Mapping[str, Any], old_set: Mapping[str, Any], new: SetIdentity,
           replace: Sequence[str]) -> bool:
    if any(name == r or name.startswith(r.rstrip("/") + "/") for r in replace):
        return False
    if old_set.get("pseudonymisation") != new.pseudonymisation:
        return False
    if old_set.get("evidence_sha256") != new.evidence_sha256:
        return False
    return not (info.get("run_kind") == "scope" and new.scope_run_id is not None
                and info.get("run_id") != new.scope_run_id)


def publish(out: Path, *, sections: Sequence[Section], identity: SetIdentity, runs: Mapping[str, Mapping[str, Any]],
            replace: Sequence[str] = (), practice_files: Mapping[str, str] | None = None,
            needs: Mapping[str, Callable[[], Section]] | None = None,
            engine: Mapping[str, str] | None = None) -> Published:
    """Write `sections` into `out` as one coherent set; sections named in `replace` (and their sub-sections) are
    replaced; `needs` builds a section the set must hold when it does not hold it yet."""
    out = manifest.resolve(out)
    result = Published(out)
    with _locked(out), private_files():
        recover(out)
        current = _current(out)
        old_set = (current or {}).get("output_set", {})
        old_sections: dict[str, Any] = (current or {}).get("sections", {})
        replaced = [*replace, *(s.name for s in sections)]
        if current is not None and identity.case_id and old_set.get("case_id") not in (None, identity.case_id):
            raise ConfigError(f"{out} holds the output set of another case",
                              hint="give each case its own output folder (--out)")
        kept = {n: info for n, info in old_sections.items() if _keeps(n, info, old_set, identity, replaced)}
        new_runs = {s.name: s.run_id for s in sections}
        kept = {n: info for n, info in kept.items()  # a report of another discovery than the one published now
                if all(new_runs.get(dep, run) == run for dep, run in (info.get("depends") or {}).items())}
        result.dropped = sorted(set(old_sections) - set(kept) - {s.name for s in sections})
        result.kept = sorted(kept)
        todo = list(sections)
        for name, build in (needs or {}).items():
            if name not in kept and all(s.name != name for s in todo):
                todo.append(build())
        parent = out.parent
        token = secrets.token_hex(6)
        tmp = parent / f".{out.name}.tmp-{token}"
        private_dir(tmp)
        try:
            entries: dict[str, dict[str, Any]] = {}
            old_files: dict[str, Any] = (current or {}).get("files", {})
            for rel, entry in old_files.items():
                if entry.get("section") in kept:
                    _link(out / rel, tmp / rel)
                    entries[rel] = entry
            new_sections: dict[str, dict[str, Any]] = dict(kept)
            for s in todo:
                new_sections[s.name] = {"stage": s.stage, "run_id": s.run_id, "run_kind": s.run_kind,
                                        "depends": dict(s.depends), "options": dict(s.options)}
                for rel, data in s.files.items():
                    if rel in entries or rel == manifest.NAME or rel.startswith(("/", "..")) or "/../" in rel:
                        raise ConfigError(f"output file {rel!r} of section {s.name} clashes with another file")
                    sha = write_private(tmp / rel, data)
                    entries[rel] = {"sha256": sha, "bytes": len(data), "section": s.name}
                    result.written.append(rel)
            wanted = {i.get("run_id") for i in new_sections.values()}
            scope_run = identity.scope_run_id or next(
                (i.get("run_id") for i in new_sections.values() if i.get("run_kind") == "scope"), None)
            all_runs = {**(current or {}).get("runs", {}), **runs}
            body = manifest.body(
                files=entries, sections=new_sections,
                runs={k: v for k, v in all_runs.items() if k in wanted},
                evidence=[dict(e) for e in identity.evidence],
                output_set={"evidence_sha256": identity.evidence_sha256, "case_id": identity.case_id,
                            "scope_run_id": scope_run,
                            "pseudonymisation": identity.pseudonymisation,
                            "patient_ids_pseudonymised": identity.pseudonymisation is not None},
                practice_files=dict(practice_files if practice_files is not None
                                    else (current or {}).get("practice_files", {})),
                engine=dict(engine or {}))
            write_private(tmp / manifest.NAME, json_bytes(body))
            _swap(tmp, out, parent / f".{out.name}.old-{token}")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    result.written.sort()
    return result


publish_set = publish


def _link(src: Path, dst: Path) -> None:
    private_dir(dst.parent)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o600)


def _swap(tmp: Path, out: Path, old: Path) -> None:
    """Put the new set in place of the old one: two renames; `recover` repairs a stop between them."""
    if out.exists():
        os.rename(out, old)
    os.rename(tmp, out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
