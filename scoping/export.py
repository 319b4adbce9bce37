"""Writing outputs safely: owner-only permissions, spreadsheet-safe cells, safe file names, stable bytes.

Files that name patients are created 0600 and their folders 0700 whatever the umask. Cells that a
spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) get a leading
apostrophe, as OWASP recommends for CSV injection; the apostrophe is visible, never silently dropped.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
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


def _as_text(df: pl.DataFrame) -> pl.DataFrame:
    """Every cell as text: booleans true/false, numbers as written, missing values empty."""
    return df.select(pl.all().cast(pl.String))


def _csv(columns: list[str], rows: Iterable[tuple[object, ...]], separator: str) -> str:
    out = io.StringIO()
    # CRLF as RFC 4180 says; it also makes the writer quote any field holding a carriage return or a newline
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def csv_bytes(df: pl.DataFrame, *, separator: str = ",", bom: bool = False) -> bytes:
    """CSV bytes: fixed header, CRLF line ends and quoting as in RFC 4180, formula cells neutralised; one writer for
    every CSV scoping writes, so every file has the same dialect."""
    text = _as_text(neutralise(df))
    data = _csv(text.columns, text.iter_rows(), separator).encode()
    return ("\ufeff".encode() + data) if bom else data


def csv_groups(df: pl.DataFrame, key: str) -> Iterator[tuple[str, bytes]]:
    """One CSV per value of `key` (rows sorted by it), written in one pass instead of one call per group."""
    text = _as_text(neutralise(df))
    rows = text.rows()
    values = text[key].to_list()
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or values[i] != values[start]:
            yield str(values[start]), _csv(text.columns, rows[start:i], ",").encode()
            start = i


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
