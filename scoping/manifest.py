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
from .errors import IntegrityError
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


def check_files(out: Path, manifest: dict[str, Any]) -> Verification:
    """Compare a folder with its manifest: changed, missing and unlisted files (no evidence)."""
    v = Verification(out)
    if manifest.get("format") != FORMAT:
        v.other.append(f"{NAME} was not written by this version of scoping (format {manifest.get('format')!r})")
        return v
    if manifest.get("manifest_sha256") != digest(manifest):
        v.other.append(f"{NAME}: its own digest does not match its content (the manifest was edited)")
    listed: dict[str, Any] = manifest.get("files", {})
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


def verify(case_root: Path, out: Path) -> Verification:
    """Re-hash every output and every evidence file against the manifest of `out`; name every difference."""
    if not out.is_dir():
        leftovers = sorted(out.parent.glob(f".{out.name}.old-*")) if out.parent.is_dir() else []
        hint = (f"an interrupted publish left the previous set in {leftovers[-1].name}: the next scoping command "
                f"that writes {out.name}/ puts it back" if leftovers else "run `scoping scope CASE` first")
        raise IntegrityError(f"output folder {out} not found", hint=hint)
    manifest = read(out)
    if manifest is None:
        raise IntegrityError(f"{out / NAME} not found: {out} is not an output set scoping wrote",
                             hint="run `scoping scope CASE` (or --out DIR) to write one")
    v = check_files(out, manifest)
    for ev in manifest.get("evidence", []):
        p = Path(ev["path"])
        p = p if p.is_absolute() else case_root / p
        v.evidence_checked += 1
        if not p.is_file():
            v.evidence.append(f"{ev['path']}: missing")
            continue
        sha, _ = sha256_file(p)
        if sha != ev["sha256"]:
            v.evidence.append(f"{ev['path']}: SHA-256 differs (recorded {ev['sha256'][:16]}…, now {sha[:16]}…)")
    for leftover in sorted(out.parent.glob(f".{out.name}.*-*")):
        v.notes.append(f"{leftover.name} beside {out.name}/ was left by an interrupted publish (the set itself is "
                       f"whole; the next command that writes {out.name}/ removes it)")
    return v
