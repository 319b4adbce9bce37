"""Turning tables into bytes the same way for every output: CSV, JSON, XLSX, with text made safe to show.

- Control characters (U+0000–U+001F, U+007F) in any value are shown as their Unicode control pictures
  (NUL → ␀, LF → ␊, DEL → ␡): visible, never interpreted, and no writer (a terminal, a spreadsheet) can choke on
  them. The store keeps the exact value; only what is written is escaped. The one exception: columns a caller
  names as `multiline` (a postal address from a practice's directory, never a value from the logs) keep their line
  breaks (CR LF and CR written LF), for a mail merge; every other control character is shown as its picture.
- CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) get a
  leading apostrophe, as OWASP recommends against CSV injection; the apostrophe is visible. A phone number in
  international form (a leading + then only digits, spaces, dots, dashes and parentheses, six digits at least) is
  not a formula and is written as it is. In XLSX every text is a string cell, which a spreadsheet never runs:
  nothing is prefixed.
- CSV: UTF-8, a fixed header, CRLF line ends and quoting as RFC 4180 describes, one writer for every file.
- XLSX: the worksheets' XML is made by polars, column by column (a kit of 100,000 patients takes seconds); local
  date-times are real date-times with the sheet's number format.
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
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import polars as pl

_FORMULA = r"^[=+\-@\t\r]"
_PHONE = r"^\+[0-9 .()\-]+$"  # +33 6 12 34 56 78, +1 (555) 010-0199 (6 digits at least): not a formula
_PHONE_DIGITS = 6
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


def _visible_columns(df: pl.DataFrame, multiline: Collection[str] = ()) -> pl.DataFrame:
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.String and df[name].str.contains(_CONTROL_CLASS).any():
            col = pl.col(name)
            if name in multiline:  # line breaks stay (as LF), every other control character is shown
                lines = col.str.replace_all("\r\n", "\n", literal=True).str.replace_all("\r", "\n", literal=True)
                keep = [i for i, c in enumerate(CONTROLS) if c != "\n"]
                exprs.append(lines.str.replace_many([CONTROLS[i] for i in keep], [PICTURES[i] for i in keep])
                             .alias(name))
            else:
                exprs.append(col.str.replace_many(CONTROLS, PICTURES).alias(name))
    return df.with_columns(exprs) if exprs else df


def _formula(text: pl.Expr) -> pl.Expr:
    phone = text.str.contains(_PHONE) & (text.str.count_matches("[0-9]") >= _PHONE_DIGITS)
    return text.str.contains(_FORMULA) & ~phone


def safe_text(text: str) -> str:
    """One value as every output shows it (a column title, a sheet's label): visible, never a formula."""
    shown = visible(text)
    phone = re.match(_PHONE, shown) and len(re.findall("[0-9]", shown)) >= _PHONE_DIGITS
    return "'" + shown if re.match(_FORMULA, shown) and not phone else shown


def neutralise(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix spreadsheet-formula cells with an apostrophe (OWASP CSV-injection advice)."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.String:
            col = pl.col(name)
            exprs.append(pl.when(_formula(col)).then(pl.lit("'") + col).otherwise(col).alias(name))
    return df.with_columns(exprs) if exprs else df


def safe_frame(df: pl.DataFrame, multiline: Collection[str] = ()) -> pl.DataFrame:
    """A table as every CSV shows it: control characters visible (line breaks kept in `multiline` columns),
    formula cells neutralised."""
    return neutralise(_visible_columns(df, multiline))


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
              header: Sequence[str] | None = None, multiline: Collection[str] = ()) -> bytes:
    """CSV bytes of a table (optionally with translated column titles; `multiline` columns keep line breaks). The
    rows are written by polars, quoting as Python's csv module does (a field is quoted when it holds the separator,
    a quote or a line break; an empty field is empty), so both writers give the same bytes."""
    text = _as_text(safe_frame(df, multiline))
    titles = [safe_text(h) for h in (header or text.columns)]
    head = _csv(titles, [], separator)
    if text.width < 2:  # a lone empty field is written "" by the csv module: keep its rule
        body = _csv(titles, text.iter_rows(), separator)[len(head):]
    else:
        body = text.select(pl.all().replace("", None)).write_csv(
            include_header=False, separator=separator, line_terminator="\r\n", quote_style="necessary")
    data = (head + body).encode()
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
    """One worksheet: a table (its Datetime columns written as local date-times in `datetime_format`), its column
    titles, and the columns whose line breaks stay (`multiline`, as in `csv_bytes`)."""

    name: str
    table: pl.DataFrame
    titles: tuple[str, ...] | None = None
    datetime_format: str = "yyyy-mm-dd hh:mm:ss"
    multiline: tuple[str, ...] = ()


XLSX_ROWS = 1_048_575  # rows a worksheet holds under its header
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_EPOCH = datetime(1899, 12, 30)  # day 0 of a spreadsheet's serial dates (after 1 March 1900)
_DAY_US = 86_400_000_000


def _within_limit(sheets: Sequence[Sheet], rows: int) -> list[Sheet]:
    """A table longer than a worksheet goes on over several ("detail", "detail 2", …); names made valid and
    unique."""
    out: list[Sheet] = []
    used: set[str] = set()
    for sheet in sheets:
        parts = max(1, -(-sheet.table.height // rows))
        base = _SHEET_NAME.sub("_", visible(sheet.name)).strip("'") or "_"
        for i in range(parts):
            suffix = f" {i + 1}" if i else ""
            name = base[:31 - len(suffix)] + suffix
            n = 2
            while name.lower() in used:
                tail = f" ({n})"
                name, n = base[:31 - len(tail)] + tail, n + 1
            used.add(name.lower())
            out.append(Sheet(name, sheet.table.slice(i * rows, rows), sheet.titles, sheet.datetime_format,
                             sheet.multiline))
    return out


def _column_letter(i: int) -> str:
    """A, B, …, Z, AA, … for the 0-based column i."""
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _xml_text(col: pl.Expr) -> pl.Expr:
    """Text as XML character data (the characters XML 1.0 cannot hold replaced by U+FFFD)."""
    return (col.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True).str.replace_all("[\ufffe\uffff]", "\ufffd"))


def _rows_xml(table: pl.DataFrame, date_style: int, multiline: Collection[str]) -> tuple[str, list[int]]:
    """The XML of every row under the header, made by polars column by column (no loop over rows), and each
    column's width in characters. A missing or empty value is no cell; text is an inline string, never a formula;
    a date-time is a serial number in the date style."""
    shown = _visible_columns(table, multiline)
    row = pl.int_range(2, pl.len() + 2).cast(pl.String)
    cells, widths = [], []
    for i, (name, dtype) in enumerate(shown.schema.items()):
        start = pl.lit(f'<c r="{_column_letter(i)}') + row
        col = pl.col(name)
        present = col.is_not_null()
        if dtype == pl.Datetime:
            serial = (col.dt.replace_time_zone(None) - _EPOCH).dt.total_microseconds() / _DAY_US
            cell = start + pl.lit(f'" s="{date_style}"><v>') + serial.cast(pl.String) + pl.lit("</v></c>")
        elif dtype == pl.Boolean:
            cell = start + pl.lit('" t="b"><v>') + col.cast(pl.Int8).cast(pl.String) + pl.lit("</v></c>")
        elif dtype.is_numeric():
            cell = start + pl.lit('"><v>') + col.cast(pl.String) + pl.lit("</v></c>")
            present = present & col.is_finite() if dtype.is_float() else present
        else:
            text = col.cast(pl.String)
            cell = (start + pl.lit('" t="inlineStr"><is><t xml:space="preserve">') + _xml_text(text)
                    + pl.lit("</t></is></c>"))
            present = present & (text != "")
        cells.append(pl.when(present).then(cell).otherwise(pl.lit("")))
        longest = shown.select(pl.col(name).cast(pl.String).str.len_chars().max().fill_null(0)).item()
        widths.append(0 if dtype == pl.Datetime else int(longest))
    xml = pl.lit('<row r="') + row + pl.lit('">') + pl.concat_str(cells) + pl.lit("</row>")
    return str(shown.select(xml.alias("xml"))["xml"].str.join("").item()), widths


def _worksheet(sheet: Sheet, selected: bool, date_style: int) -> tuple[str, str]:
    """One worksheet's XML (bold frozen header, filter, column widths) and the range its filter covers."""
    table = sheet.table
    titles = [visible(t) for t in (sheet.titles or table.columns)]
    ref = f"A1:{_column_letter(max(table.width, 1) - 1)}{table.height + 1}"
    header = "".join(f'<c r="{_column_letter(i)}1" s="1" t="inlineStr"><is><t xml:space="preserve">{escape(t)}'
                     f"</t></is></c>" for i, t in enumerate(titles))
    rows, widths = _rows_xml(table, date_style, sheet.multiline) if table.height else ("", [0] * table.width)
    widths = [len(sheet.datetime_format) if dtype == pl.Datetime else w
              for dtype, w in zip(table.dtypes, widths, strict=True)]
    cols = "".join(f'<col min="{i}" max="{i}" width="{min(max(max(w, len(t)) + 2, 8), 80)}" customWidth="1"/>'
                   for i, (w, t) in enumerate(zip(widths, titles, strict=True), start=1))
    tab = ' tabSelected="1"' if selected else ""
    body = (f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><dimension ref="{ref}"/>'
            f'<sheetViews><sheetView{tab} workbookViewId="0">'
            f'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            f'<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/>{f"<cols>{cols}</cols>" if cols else ""}'
            f'<sheetData><row r="1">{header}</row>{rows}</sheetData>'
            f'{f"<autoFilter ref={quoteattr(ref)}/>" if table.width else ""}'
            f'<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/></worksheet>')
    return body, ref


def _styles(formats: Sequence[str]) -> str:
    """Style 0: plain; 1: a bold title; 2, 3, …: a date-time in each of `formats`."""
    num = "".join(f'<numFmt numFmtId="{164 + i}" formatCode={quoteattr(f)}/>' for i, f in enumerate(formats))
    dated = "".join(f'<xf numFmtId="{164 + i}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
                    for i in range(len(formats)))
    font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
    return (f'{_XML}<styleSheet xmlns="{_MAIN}">'
            f'{f"<numFmts count={quoteattr(str(len(formats)))}>{num}</numFmts>" if formats else ""}'
            f'<fonts count="2"><font>{font}</font><font><b/>{font}</font></fonts>'
            f'<fills count="2"><fill><patternFill patternType="none"/></fill>'
            f'<fill><patternFill patternType="gray125"/></fill></fills>'
            f'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            f'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{2 + len(formats)}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            f'<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>{dated}</cellXfs>'
            f'<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')


def xlsx_bytes(sheets: Sequence[Sheet], *, rows_per_sheet: int = XLSX_ROWS) -> bytes:
    """An XLSX workbook a secretary can use (bold frozen header, filter, column widths, real date-times) whose
    bytes depend only on its rows."""
    parts = _within_limit(sheets, rows_per_sheet)
    formats = sorted({s.datetime_format for s in parts if pl.Datetime in s.table.dtypes})
    files: dict[str, str] = {}
    names, refs = [], []
    for i, sheet in enumerate(parts):
        style = 2 + formats.index(sheet.datetime_format) if sheet.datetime_format in formats else 0
        files[f"xl/worksheets/sheet{i + 1}.xml"], ref = _worksheet(sheet, i == 0, style)
        names.append(sheet.name)
        refs.append(ref)
    n = len(parts)
    sheet_list = "".join(f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
                         for i, name in enumerate(names, start=1))
    filters = "".join(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
                      f"{escape(_quoted_sheet(name))}!{_absolute(ref)}</definedName>"
                      for i, (name, ref) in enumerate(zip(names, refs, strict=True)) if parts[i].table.width)
    files["xl/workbook.xml"] = (f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><workbookPr/>'
                                f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{sheet_list}</sheets>'
                                f'{f"<definedNames>{filters}</definedNames>" if filters else ""}</workbook>')
    files["xl/styles.xml"] = _styles(formats)
    sheet_rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                         for i in range(1, n + 1))
    files["xl/_rels/workbook.xml.rels"] = (f'{_XML}<Relationships xmlns="{_PKG}">{sheet_rels}'
                                           f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
                                           f"</Relationships>")
    files["_rels/.rels"] = (f'{_XML}<Relationships xmlns="{_PKG}">'
                            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
                            f'<Relationship Id="rId2" Type="{_PKG}/metadata/core-properties" '
                            f'Target="docProps/core.xml"/>'
                            f'<Relationship Id="rId3" Type="{_REL}/extended-properties" Target="docProps/app.xml"/>'
                            f"</Relationships>")
    files["docProps/core.xml"] = (
        f'{_XML}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        f' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>scoping</dc:creator>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:modified></cp:coreProperties>')
    files["docProps/app.xml"] = (f'{_XML}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
                                 f'extended-properties"><Application>scoping</Application></Properties>')
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{sml}.worksheet+xml"/>'
                        for i in range(1, n + 1))
    files["[Content_Types].xml"] = (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{sml}.sheet.main+xml"/>{overrides}'
        f'<Override PartName="/xl/styles.xml" ContentType="{sml}.styles+xml"/>'
        f'<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties'
        f'+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        f'extended-properties+xml"/></Types>')
    out = io.BytesIO()
    order = ["[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml", "xl/workbook.xml",
             "xl/_rels/workbook.xml.rels", "xl/styles.xml", *(f"xl/worksheets/sheet{i}.xml" for i in range(1, n + 1))]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in order:
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), files[name].encode(),
                        compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _quoted_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    return re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", ref)
