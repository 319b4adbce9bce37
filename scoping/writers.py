"""Turning tables into bytes the same way for every output: CSV, JSON, XLSX, with text made safe to show.

- Control characters (U+0000–U+001F, U+007F) in any value are shown as their Unicode control pictures
  (NUL → ␀, LF → ␊, DEL → ␡): visible, never interpreted, and no writer (openpyxl, a terminal, a spreadsheet)
  can choke on them. The store keeps the exact value; only what is written is escaped.
- Cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) get a
  leading apostrophe, as OWASP recommends against CSV injection; the apostrophe is visible.
- CSV: UTF-8, a fixed header, CRLF line ends and quoting as RFC 4180 describes, one writer for every file.
- Same rows → same bytes (XLSX with pinned internal dates), so a manifest can prove an output.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

_FORMULA = r"^[=+\-@\t\r]"
CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f"]
PICTURES = [chr(0x2400 + c) for c in range(0x20)] + ["\u2421"]
_CONTROL_RE = re.compile("[\x00-\x1f\x7f]")
_CONTROL_CLASS = r"[\x00-\x1f\x7f]"
_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")  # characters a worksheet's name cannot hold


def visible(text: str) -> str:
    """One string with its control characters shown as control pictures."""
    if not _CONTROL_RE.search(text):
        return text
    return text.translate({ord(c): p for c, p in zip(CONTROLS, PICTURES, strict=True)})


def _visible_columns(df: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.String and df[name].str.contains(_CONTROL_CLASS).any():
            exprs.append(pl.col(name).str.replace_many(CONTROLS, PICTURES).alias(name))
    return df.with_columns(exprs) if exprs else df


def safe_text(text: str) -> str:
    """One value as every output shows it (a column title, a sheet's label): visible, never a formula."""
    shown = visible(text)
    return "'" + shown if re.match(_FORMULA, shown) else shown


def neutralise(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix spreadsheet-formula cells with an apostrophe (OWASP CSV-injection advice)."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.String:
            col = pl.col(name)
            exprs.append(pl.when(col.str.contains(_FORMULA)).then(pl.lit("'") + col).otherwise(col).alias(name))
    return df.with_columns(exprs) if exprs else df


def safe_frame(df: pl.DataFrame) -> pl.DataFrame:
    """A table as every output shows it: control characters visible, formula cells neutralised."""
    return neutralise(_visible_columns(df))


def _as_text(df: pl.DataFrame) -> pl.DataFrame:
    """Every cell as text: booleans true/false, numbers as written, missing values empty."""
    return df.select(pl.all().cast(pl.String))


def _csv(columns: Sequence[str], rows: Iterable[Sequence[object]], separator: str) -> str:
    out = io.StringIO()
    # CRLF as RFC 4180 says; it also makes the writer quote any field holding a carriage return or a newline
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def csv_bytes(df: pl.DataFrame, *, separator: str = ",", bom: bool = False,
              header: Sequence[str] | None = None) -> bytes:
    """CSV bytes of a table (optionally with translated column titles)."""
    text = _as_text(safe_frame(df))
    titles = [safe_text(h) for h in (header or text.columns)]
    data = _csv(titles, text.iter_rows(), separator).encode()
    return ("\ufeff".encode() + data) if bom else data


def csv_groups(df: pl.DataFrame, key: str) -> Iterator[tuple[str, bytes]]:
    """One CSV per value of `key` (rows sorted by it), in one pass. The key given back is the raw value, before
    any neutralisation, so that two values that would look alike once made safe stay two groups."""
    raw_keys = df[key].cast(pl.String).to_list()
    text = _as_text(safe_frame(df))
    rows = text.rows()
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or raw_keys[i] != raw_keys[start]:
            yield str(raw_keys[start]), _csv(text.columns, rows[start:i], ",").encode()
            start = i


def json_bytes(obj: Any) -> bytes:
    """JSON with sorted keys (control characters escaped by the JSON writer itself)."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode()


def pseudonym(key: bytes, identifier: str) -> str:
    """A keyed, stable pseudonym (HMAC-SHA256): the same patient gets the same pseudonym in every file,
    and nobody without the key can link it back."""
    return "ps-" + hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest()[:20]


def pseudonymise(df: pl.DataFrame, key: bytes, columns: tuple[str, ...] = ("patient_id",)) -> pl.DataFrame:
    exprs = [pl.col(c).map_elements(lambda v: pseudonym(key, v), return_dtype=pl.String).alias(c)
             for c in columns if c in df.columns]
    return df.with_columns(exprs) if exprs else df


def key_fingerprint(key: bytes) -> str:
    """Names a pseudonymisation key without revealing it (so two output sets can be told apart)."""
    return hashlib.sha256(b"scoping pseudonymisation key\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a table, its column titles, and which columns hold local date-times."""

    name: str
    table: pl.DataFrame
    titles: tuple[str, ...] | None = None
    datetime_columns: tuple[str, ...] = ()
    datetime_format: str = "yyyy-mm-dd hh:mm:ss"


XLSX_ROWS = 1_048_575  # rows a worksheet holds under its header


def _within_limit(sheets: Sequence[Sheet], rows: int) -> list[Sheet]:
    """A table longer than a worksheet goes on over several ("detail", "detail 2", …)."""
    out = []
    for sheet in sheets:
        parts = max(1, -(-sheet.table.height // rows))
        for i in range(parts):
            suffix = f" {i + 1}" if i else ""
            name = _SHEET_NAME.sub("_", visible(sheet.name))[:31 - len(suffix)] + suffix
            out.append(Sheet(name, sheet.table.slice(i * rows, rows), sheet.titles, sheet.datetime_columns,
                             sheet.datetime_format))
    return out


def xlsx_bytes(sheets: Sequence[Sheet], *, rows_per_sheet: int = XLSX_ROWS) -> bytes:
    """An XLSX workbook a secretary can use (frozen header, filter, column widths, real date-times) whose bytes
    depend only on its rows: openpyxl's own time stamps are pinned."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    fixed = datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    for sheet in _within_limit(sheets, rows_per_sheet):
        ws = wb.create_sheet(sheet.name or "_")
        dated = set(sheet.datetime_columns)
        safe = safe_frame(sheet.table.drop([c for c in dated if c in sheet.table.columns]))
        titles = list(sheet.titles or sheet.table.columns)
        ws.append([safe_text(t) for t in titles])
        widths = [len(t) for t in titles]
        columns = []
        for name in sheet.table.columns:
            if name in dated:
                columns.append([v.replace(tzinfo=None) if isinstance(v, datetime) else v
                                for v in sheet.table[name].to_list()])
            else:
                columns.append(safe[name].to_list())
        for r in range(sheet.table.height):
            row: list[Any] = []
            for i, col in enumerate(columns):
                v = col[r]
                if v is None:
                    row.append(None)
                    continue
                if not isinstance(v, int | float | bool | datetime):
                    v = str(v)
                row.append(v)
                widths[i] = max(widths[i], len(sheet.datetime_format) if isinstance(v, datetime) else len(str(v)))
            ws.append(row)
        for i, name in enumerate(sheet.table.columns, start=1):
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = min(max(widths[i - 1] + 2, 8), 80)
            if name in dated:
                for cell in ws[letter][1:]:
                    cell.number_format = sheet.datetime_format
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.data_type = "s"
        ws.freeze_panes = "A2"
        if sheet.table.width:
            ws.auto_filter.ref = f"A1:{get_column_letter(sheet.table.width)}{max(sheet.table.height + 1, 1)}"
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time: pin it
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
