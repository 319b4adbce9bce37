"""File names for practices: one name per practice id, the same in `by_controller/` and `notify/`.

A practice id becomes a file name as it is when it is plain (ASCII letters, digits, '.', '_', '-', not starting
with '.' or '-', not a reserved device name, not too long) and no other practice of the same output set has a
name equal to it once case is folded (macOS and Windows file systems ignore case). Otherwise a short digest of
the id is appended, so two ids never share a file: `-5` and `'-5`, `P001` and `p001`, `a/b` and `a_b`. The
mapping is written into the manifest, so the file of a practice is never guessed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
_MAX = 80


def _plain(identifier: str) -> str:
    cleaned = _UNSAFE.sub("_", identifier)
    cleaned = re.sub(r"^[.-]+", lambda m: "_" * len(m.group(0)), cleaned)
    return cleaned or "_"


def _is_plain(identifier: str) -> bool:
    base = _plain(identifier)
    return (base == identifier and len(base) <= _MAX and base.split(".")[0].lower() not in _RESERVED
            and not re.search(r"-[0-9a-f]{12,}$", base))


def _digested(identifier: str, digits: int) -> str:
    base = _plain(identifier)[:60]
    if base.split(".")[0].lower() in _RESERVED:
        base = "_" + base
    return f"{base}-{hashlib.sha256(identifier.encode()).hexdigest()[:digits]}"


def practice_files(practice_ids: Iterable[str]) -> dict[str, str]:
    """practice id → file name (without extension), distinct even when case is folded."""
    ids = sorted(set(practice_ids))
    folded: dict[str, list[str]] = {}
    for i in ids:
        folded.setdefault(_plain(i).casefold(), []).append(i)
    names = {i: (i if _is_plain(i) and len(folded[_plain(i).casefold()]) == 1 else _digested(i, 12)) for i in ids}
    digits = 12
    while True:  # a digest shared once case is folded (never seen; handled anyway): lengthen the digests involved
        seen: dict[str, list[str]] = {}
        for i, name in names.items():
            seen.setdefault(name.casefold(), []).append(i)
        clashes = [group for group in seen.values() if len(group) > 1]
        if not clashes or digits >= 64:
            return names
        digits += 8
        for group in clashes:
            for i in group:
                names[i] = _digested(i, digits)
