"""Evidence files: finding them from globs, hashing them, and checking, before scope, that the store holds all of
them exactly as they are on disk."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .config import CaseConfig, source_digest
from .errors import ConfigError, InputError, IntegrityError

if TYPE_CHECKING:
    from .store import Runner

_BLOCK = 4 * 1024 * 1024


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in blocks (never loaded whole)."""
    h = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            while block := fh.read(_BLOCK):
                h.update(block)
                size += len(block)
    except OSError as exc:
        raise InputError(f"cannot read evidence file {path}: {exc.strerror or exc}",
                         hint="check the file exists and is readable") from exc
    return h.hexdigest(), size


def stat_signature(path: Path) -> tuple[int, int]:
    """Size and modification time: compared before and after reading to catch a file changed meanwhile."""
    try:
        st = path.stat()
    except OSError as exc:
        raise InputError(f"evidence file {path} vanished or cannot be read: {exc.strerror or exc}",
                         hint="restore the file from the acquisition copy and ingest again") from exc
    return st.st_size, st.st_mtime_ns


def _inside(path: Path, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(Path(os.path.realpath(root)))


_OWN = ("case.toml", "case.duckdb", "case.duckdb.wal", "out", ".duckdb-tmp")  # what scoping writes in a case


def _own(root: Path, path: Path) -> bool:
    """Is this one of scoping's own files (case.toml, the store, an output)? Never evidence."""
    try:
        first = Path(os.path.relpath(os.path.realpath(path), os.path.realpath(root))).parts[0]
    except (ValueError, IndexError):
        return False
    return first in _OWN


def expand(root: Path, patterns: tuple[str, ...], *, where: str, follow_symlinks: bool = False) -> list[Path]:
    """The files a source's globs name, sorted, so the order of globs never changes a result.

    Every glob must match a file (a typo in one of two globs is not hidden by the other). A relative glob's match
    that is a link (or lies under one) leading outside the case folder is refused unless the source says
    follow_symlinks = true; an absolute glob is explicit and followed."""
    found: set[Path] = set()
    for pattern in patterns:
        p = Path(pattern)
        if p.is_absolute():
            matches = [m for m in Path(p.anchor).glob(str(p.relative_to(p.anchor))) if m.is_file()]
        else:
            matches = [m for m in root.glob(pattern) if m.is_file()]
            for m in matches:
                logical = Path(os.path.abspath(m))
                if not follow_symlinks and Path(os.path.realpath(m)) != logical and not _inside(m, root):
                    raise ConfigError(f"{where}: {display_path(root, logical, resolve=False)} is a link to "
                                      f"{os.path.realpath(m)}, outside the case folder",
                                      hint="copy the file into the case folder, write its absolute path in files, "
                                           "or set follow_symlinks = true for this source")
        if not matches:
            raise InputError(f"{where}: no file matches {pattern!r}",
                             hint="check the paths in case.toml; relative globs start at the case folder")
        own = [m for m in matches if _own(root, m)]
        if own:
            raise ConfigError(f"{where}: {pattern!r} matches {display_path(root, own[0])}, a file scoping writes "
                              f"(case.toml, the store, out/), not evidence",
                              hint="keep the logs in a folder of their own (e.g. logs/) and name it in files")
        found.update(matches)
    return sorted(found, key=lambda m: display_path(root, m))


def display_path(root: Path, path: Path, *, resolve: bool = True) -> str:
    """The path as recorded: relative to the case folder when inside it."""
    try:
        target = path.resolve() if resolve else Path(os.path.abspath(path))
        base = root.resolve() if resolve else Path(os.path.abspath(root))
        return os.path.relpath(target, base) if target.is_relative_to(base) else str(target)
    except (ValueError, OSError):
        return str(path)


def _registered(runner: Runner) -> list[tuple[str, str, str, str, str | None]]:
    rows = runner.execute("evidence_registered", """
        SELECT kind, source, path, sha256, source_sha256 FROM evidence
        WHERE NOT starts_with(status, 'superseded') ORDER BY kind, path""")
    return [(str(k), str(s), str(p), str(h), d) for k, s, p, h, d in rows]


def check_evidence_complete(runner: Runner, cfg: CaseConfig) -> int:
    """Before scope: every file the sources match is ingested, every ingested file is still there unchanged (by
    content: a renamed file is the same evidence), each was read with the source definition case.toml gives
    now, and each reference table is the one case.toml names. Raises IntegrityError naming every file at fault;
    returns the number of files checked."""
    registered = _registered(runner)
    by_sha = {sha: (kind, source, path, digest) for kind, source, path, sha, digest in registered}
    log_paths = {path for kind, _, path, _, _ in registered if kind == "log"}
    problems: list[str] = []
    seen: dict[Path, str] = {}
    found: set[str] = set()

    def digest_of(path: Path) -> str:
        if path not in seen:
            seen[path] = sha256_file(path)[0]
        return seen[path]

    for src in cfg.sources:
        current = source_digest(src, cfg.root)
        try:
            files = expand(cfg.root, src.files, where=f"[sources.{src.name}]", follow_symlinks=src.follow_symlinks)
        except InputError as exc:
            problems.append(exc.message)
            continue
        for file in files:
            sha = digest_of(file)
            found.add(sha)
            shown = display_path(cfg.root, file)
            if sha not in by_sha and shown in log_paths:
                continue  # an ingested file changed in place: reported below
            if sha not in by_sha:
                problems.append(f"{shown} matches [sources.{src.name}] but was never ingested")
            elif by_sha[sha][1] == src.name and by_sha[sha][3] != current:
                problems.append(f"{shown} was ingested with another definition of [sources.{src.name}] "
                                f"(case.toml changed since)")
    for ref in cfg.references:
        path = cfg.root / ref.file if not Path(ref.file).is_absolute() else Path(ref.file)
        if not path.is_file():
            problems.append(f"[reference.{ref.kind}] {ref.file} is missing")
            continue
        sha = digest_of(path)
        found.add(sha)
        if not any(kind == "reference" and source == f"reference.{ref.kind}" and h == sha
                   for kind, source, _, h, _ in registered):
            problems.append(f"[reference.{ref.kind}] {display_path(cfg.root, path)} differs from the table the "
                            f"store holds")
    names = {src.name for src in cfg.sources}
    for kind, source, rel, sha, _ in registered:
        if kind == "log" and source not in names:
            problems.append(f"{rel} was ingested for [sources.{source}], which case.toml no longer defines (its events "
                            f"are still in the store)")
            continue
        if kind != "log" or sha in found:
            continue
        path = Path(rel) if Path(rel).is_absolute() else cfg.root / rel
        if not path.is_file():
            problems.append(f"{rel} (ingested) is missing")
        elif digest_of(path) != sha:
            problems.append(f"{rel} (ingested) changed: its SHA-256 differs from the one recorded at ingest")
    if problems:
        raise IntegrityError("the evidence is not the evidence the store holds:\n  " + "\n  ".join(problems),
                             hint="run `scoping ingest CASE` to ingest new or changed files and re-apply case.toml; "
                                  "restore a changed or missing file from the acquisition copy")
    return len(seen)
