"""Evidence files: finding them from globs and hashing them (`scoping.completeness` checks, before scope, that the
store holds all of them exactly as they are on disk)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .errors import ConfigError, InputError

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


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as Path.glob reads it: `*` and `?` stay within a folder, `**/` crosses any number of them."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


def names(root: Path, patterns: tuple[str, ...], recorded: str) -> bool:
    """Whether a source's globs name the file recorded at `recorded` (relative to the case folder, or absolute),
    whether or not it is there now: a missing file they name is missing evidence, one they do not name is
    evidence the case no longer holds."""
    base = root.resolve()
    target = os.path.normpath(recorded if os.path.isabs(recorded) else os.path.join(base, recorded))
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
        if _glob_regex(os.path.normpath(full)).match(target):
            return True
    return False
