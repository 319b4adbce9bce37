"""Evidence files: finding them from globs, hashing them, and opening them read-only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .errors import InputError

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


def expand(root: Path, patterns: tuple[str, ...], *, where: str) -> list[Path]:
    """The files a source's globs name, sorted, so the order of globs never changes a result."""
    found: set[Path] = set()
    for pattern in patterns:
        p = Path(pattern)
        if p.is_absolute():
            matches = sorted(Path(p.anchor).glob(str(p.relative_to(p.anchor))))
        else:
            matches = sorted(root.glob(pattern))
        found.update(m for m in matches if m.is_file())
    if not found:
        raise InputError(f"{where}: no file matches {', '.join(patterns)}",
                         hint="check the paths in case.toml; relative globs start at the case folder")
    return sorted(found, key=lambda m: display_path(root, m))


def display_path(root: Path, path: Path) -> str:
    """The path as recorded: relative to the case folder when inside it."""
    try:
        return os.path.relpath(path.resolve(), root.resolve()) if path.resolve().is_relative_to(
            root.resolve()) else str(path.resolve())
    except ValueError:
        return str(path)
