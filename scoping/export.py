"""Writing outputs safely: owner-only permissions, spreadsheet-safe cells, safe file names, stable bytes.

Files that name patients are created 0600 and their folders 0700 whatever the umask. Cells that a
spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) get a leading
apostrophe, as OWASP recommends for CSV injection; the apostrophe is visible, never silently dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import polars as pl

from .errors import InputError

_FORMULA = r"^[=+\-@\t\r]"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def private_dir(path: Path) -> Path:
    """A folder readable by its owner only (created if missing)."""
    try:
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


def neutralise(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix spreadsheet-formula cells with an apostrophe (OWASP CSV-injection advice)."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.String:
            col = pl.col(name)
            exprs.append(pl.when(col.str.contains(_FORMULA)).then(pl.lit("'") + col).otherwise(col).alias(name))
    return df.with_columns(exprs) if exprs else df


def csv_bytes(df: pl.DataFrame, *, separator: str = ",", bom: bool = False, neutralised: bool = False) -> bytes:
    """CSV bytes with a fixed header and line ending; formula cells neutralised unless already done."""
    buf = io.BytesIO()
    (df if neutralised else neutralise(df)).write_csv(buf, separator=separator, line_terminator="\n", null_value="")
    data = buf.getvalue()
    return ("\ufeff".encode() + data) if bom else data


def json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode()


def pseudonym(key: bytes, identifier: str) -> str:
    """A keyed, stable pseudonym (HMAC-SHA256): the same patient gets the same pseudonym in every file,
    and nobody without the key can link it back."""
    return "ps-" + hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest()[:20]


def pseudonymise(df: pl.DataFrame, key: bytes, columns: tuple[str, ...] = ("patient_id",)) -> pl.DataFrame:
    exprs = [pl.col(c).map_elements(lambda v: pseudonym(key, v), return_dtype=pl.String).alias(c)
             for c in columns if c in df.columns]
    return df.with_columns(exprs) if exprs else df


def safe_name(identifier: str) -> str:
    """A file name for a practice id: no separators, no '..', no reserved names, never colliding."""
    cleaned = _SAFE.sub("_", identifier).lstrip(".") or "_"
    digest = hashlib.sha256(identifier.encode()).hexdigest()[:16]
    reserved = cleaned.lower().split(".")[0] in _RESERVED
    if cleaned != identifier or reserved or len(cleaned) > 80 or re.search(r"-[0-9a-f]{16}$", cleaned):
        return f"{'_' if reserved else ''}{cleaned[:60]}-{digest}"
    return cleaned
