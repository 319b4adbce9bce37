"""Files readable by their owner only, whatever the umask: patient identifiers never reach a group or the world.

Every file scoping creates (the case store and its write-ahead log, outputs, spill files, synthetic worlds) is
created `0600` in `0700` folders. `private_files()` sets the process umask to 077 for the duration of an
operation (DuckDB creates its WAL and spill files itself, so a chmod after the fact would leave a window);
`write_private` and `private_dir` also set the mode explicitly, so a file that already existed is tightened.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError

_lock = threading.Lock()
_depth = 0
_saved = 0


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Within this block every file and folder the process creates is private (umask 077); nestable."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = os.umask(0o077)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                os.umask(_saved)


def tighten(path: Path) -> None:
    """Make an existing file 0600 (or a folder 0700); a missing path is left alone."""
    try:
        if path.is_dir():
            os.chmod(path, 0o700)
        elif path.exists():
            os.chmod(path, 0o600)
    except OSError as exc:
        raise InputError(f"cannot restrict the permissions of {path}: {exc.strerror or exc}",
                         hint="make sure you own the case folder") from exc


def private_dir(path: Path) -> Path:
    """A folder readable by its owner only (created if missing, with its missing parents)."""
    try:
        with private_files():
            path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise InputError(f"cannot create the output folder {path}: {exc.strerror or exc}",
                         hint="choose a writable folder, or free disk space") from exc
    return path


def write_private(path: Path, data: bytes) -> str:
    """Write bytes to a file readable by its owner only; return the SHA-256 of what was written."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}",
                         hint="check the output folder is writable and the disk has space") from exc
    return hashlib.sha256(data).hexdigest()
