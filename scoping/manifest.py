"""The manifest of an output folder: every file in it, the stage and run that wrote it, the runs' parameters and the
evidence they rest on — and `verify`, which re-hashes all of it.

`manifest.json` lists **every** file under its folder (itself aside), with its SHA-256, size and section; a
section (`scope`, `report`, `discover`, `notify/<lang>/<practice>`) names the stage and the run that wrote it.
The manifest carries its own digest (`manifest_sha256`, over everything but that field and `generated_at`), so
a changed byte anywhere is found. `verify` reports changed, missing and unlisted files, and the evidence files
whose SHA-256 is no longer the one recorded: it never says "all match" about a file it did not check.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import ConfigError, InputError, IntegrityError
from .evidence import sha256_file

FORMAT = "scoping-output-set/2"
NAME = "manifest.json"
_VOLATILE = ("generated_at", "manifest_sha256")


def digest(body: dict[str, Any]) -> str:
    stable = {k: v for k, v in body.items() if k not in _VOLATILE}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


def body(*, files: dict[str, dict[str, Any]], sections: dict[str, dict[str, Any]], runs: dict[str, Any],
         evidence: list[dict[str, Any]], output_set: dict[str, Any], practice_files: dict[str, str],
         engine: dict[str, str]) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "tool": {"name": "scoping", "version": __version__, **engine},
        "output_set": output_set,
        "sections": dict(sorted(sections.items())),
        "runs": dict(sorted(runs.items())),
        "evidence": evidence,
        "practice_files": dict(sorted(practice_files.items())),
        "files": dict(sorted(files.items())),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    manifest["manifest_sha256"] = digest(manifest)
    return manifest


def read(out: Path) -> dict[str, Any] | None:
    """The manifest of a folder, or None when there is none; an unreadable one is an integrity error."""
    path = out / NAME
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{path} is not valid JSON: the manifest itself was altered") from exc
    if not isinstance(value, dict):
        raise IntegrityError(f"{path} is not a scoping manifest")
    return value


def files_on_disk(out: Path) -> list[str]:
    """Every file under a folder (symlinks included, never followed), as '/'-separated relative paths."""
    found = []
    for root, dirs, names in os.walk(out, followlinks=False):
        rel_root = Path(root).relative_to(out)
        for n in names + [d for d in dirs if (Path(root) / d).is_symlink()]:
            found.append((rel_root / n).as_posix())
    return sorted(found)


@dataclass
class Verification:
    """What `verify` found. `ok` only when every listed file and evidence file was checked and matched, and no
    file is unlisted."""

    folder: Path
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, not a difference (left-overs of a killed publish)
    outputs_checked: int = 0
    evidence_checked: int = 0
    recomputed: int = 0  # list files compared with a new computation of their run (verify --recompute)

    @property
    def problems(self) -> list[str]:
        return ([f"changed   {p}" for p in self.changed] + [f"missing   {p}" for p in self.missing]
                + [f"unlisted  {p}" for p in self.unlisted] + [f"evidence  {p}" for p in self.evidence]
                + [f"manifest  {p}" for p in self.other])

    @property
    def ok(self) -> bool:
        return not self.problems


def _malformed(body: dict[str, Any]) -> list[str]:
    """What makes a manifest unusable as a list of what to check (a forgery, or a damaged file): never a traceback."""
    problems = []
    files, sections, runs = body.get("files"), body.get("sections"), body.get("runs")
    evidence, output_set = body.get("evidence"), body.get("output_set")
    if not isinstance(files, dict) or not all(isinstance(e, dict) and isinstance(e.get("sha256"), str)
                                              for e in files.values()):
        problems.append("its file list is not a table of files with their SHA-256")
    if not isinstance(sections, dict) or not isinstance(runs, dict) or not isinstance(output_set, dict):
        problems.append("its sections, runs or output set are missing")
    if not isinstance(evidence, list) or not all(isinstance(e, dict) and isinstance(e.get("path"), str)
                                                 and isinstance(e.get("sha256"), str) for e in evidence):
        problems.append("its evidence list is not a list of files with their SHA-256")
    if problems:
        return problems
    assert isinstance(files, dict) and isinstance(sections, dict) and isinstance(runs, dict)
    assert isinstance(output_set, dict) and isinstance(evidence, list)
    for rel in files:
        if not isinstance(rel, str) or rel.startswith("/") or ".." in Path(rel).parts or "\\" in rel:
            problems.append(f"it lists a file outside its folder: {rel!r}")
    named = {e.get("section") for e in files.values()}
    if not named <= set(sections):
        problems.append(f"files of unknown sections: {', '.join(sorted(map(str, named - set(sections))))}")
    for name, info in sections.items():
        run = info.get("run_id") if isinstance(info, dict) else None
        if run is not None and run not in runs:
            problems.append(f"section {name} shows run {run}, which the manifest does not record")
    if files and not evidence:
        problems.append("it names no evidence file: nothing shows what the outputs rest on")
    return problems


def check_files(out: Path, manifest: dict[str, Any]) -> Verification:
    """Compare a folder with its manifest: changed, missing and unlisted files (no evidence)."""
    v = Verification(out)
    if manifest.get("format") != FORMAT:
        v.other.append(f"{NAME} was not written by this version of scoping (format {manifest.get('format')!r})")
        return v
    if manifest.get("manifest_sha256") != digest(manifest):
        v.other.append(f"{NAME}: its own digest does not match its content (the manifest was edited)")
    broken = _malformed(manifest)
    if broken:
        v.other.extend(f"{NAME}: {p}" for p in broken)
        if any("outside its folder" not in p and "sections" not in p and "shows run" not in p
               and "names no evidence" not in p for p in broken):
            return v
    listed: dict[str, Any] = {rel: e for rel, e in manifest["files"].items()
                              if isinstance(rel, str) and not rel.startswith("/") and ".." not in Path(rel).parts}
    for rel, entry in listed.items():
        v.outputs_checked += 1
        p = out / rel
        if p.is_symlink() or not p.is_file():
            v.missing.append(rel)
            continue
        sha, _ = sha256_file(p)
        if sha != entry.get("sha256"):
            v.changed.append(rel)
    for rel in files_on_disk(out):
        if rel != NAME and rel not in listed:
            v.unlisted.append(rel)
    return v


def resolve(out: Path) -> Path:
    """The folder a publish really writes: absolute, a symbolic link followed to its target (a set kept on an
    encrypted volume stays there), never a mount point (a set is swapped in by renaming it), never inside another
    output set."""
    folder = Path(os.path.abspath(out))
    if folder.is_symlink():
        folder = folder.resolve()
    if folder.parent == folder or os.path.ismount(folder):
        raise ConfigError(f"{out} is the root of a file system: scoping swaps a whole output folder in by renaming",
                          hint=f"give a folder inside it, e.g. {Path(out) / 'scoping-out'}")
    for ancestor in folder.parents:
        if ancestor.exists() and not ancestor.is_dir():
            raise InputError(f"cannot create the output folder {out}: {ancestor} is a file",
                             hint="choose an output folder whose parents are folders")
        body = read(ancestor) if (ancestor / NAME).is_file() else None
        if body and body.get("format") == FORMAT:
            raise ConfigError(f"{out} is inside the output set {ancestor}",
                              hint="give a folder outside any output set (scoping owns every file under one)")
    return folder


def leftovers(out: Path, kind: str) -> list[Path]:
    """What an interrupted publish of `out` left beside it (`old` or `tmp`), oldest first; names compared exactly."""
    if not out.parent.is_dir():
        return []
    prefix = f".{out.name}.{kind}-"
    found = [out.parent / n for n in os.listdir(out.parent) if n.startswith(prefix) and len(n) == len(prefix) + 12]
    return sorted(found, key=lambda p: p.lstat().st_mtime)


def verify(case_root: Path, out: Path, *, case_id: str | None = None) -> Verification:
    """Re-hash every output and every evidence file against the manifest of `out`; name every difference."""
    if out.is_symlink():
        out = out.resolve()
    if not out.is_dir():
        olds = leftovers(out, "old")
        hint = (f"an interrupted publish left the previous set in {olds[-1].name}: the next scoping command "
                f"that writes {out.name}/ puts it back" if olds else "run `scoping scope CASE` first")
        raise IntegrityError(f"output folder {out} not found", hint=hint)
    resolve(out)
    manifest = read(out)
    if manifest is None:
        raise IntegrityError(f"{out / NAME} not found: {out} is not an output set scoping wrote",
                             hint="run `scoping scope CASE` (or --out DIR) to write one")
    v = check_files(out, manifest)
    owner = (manifest.get("output_set") or {}).get("case_id") if isinstance(manifest.get("output_set"), dict) else None
    if case_id and owner and owner != case_id:
        v.other.append(f"this output set was written by another case ({owner}): its evidence is not this case's")
        return v
    for ev in manifest.get("evidence", []) if isinstance(manifest.get("evidence"), list) else []:
        if not isinstance(ev, dict) or not isinstance(ev.get("path"), str):
            continue
        p = Path(ev["path"])
        p = p if p.is_absolute() else case_root / p
        v.evidence_checked += 1
        if not p.is_file():
            v.evidence.append(f"{ev['path']}: missing")
            continue
        sha, _ = sha256_file(p)
        if sha != ev.get("sha256"):
            v.evidence.append(f"{ev['path']}: SHA-256 differs (recorded {str(ev.get('sha256'))[:16]}…, "
                              f"now {sha[:16]}…)")
    for leftover in [*leftovers(out, "old"), *leftovers(out, "tmp")]:
        v.notes.append(f"{leftover.name} beside {out.name}/ was left by an interrupted publish (the set itself is "
                       f"whole; the next command that writes {out.name}/ removes it)")
    return v
