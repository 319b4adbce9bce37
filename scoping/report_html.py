"""The report's HTML building blocks: the stylesheet (screen and A4 print), escaping, tables.

Every value is escaped and its control characters shown (`visible`), so nothing that came from the logs is markup;
the only markup is scoping's own, marked as such with `Html`. Tables wrap rather than overflow: text breaks between
words, a value with a word longer than `LONG` characters (a hash, a path, a client string from a hostile log) may
break anywhere, numbers never; in print every table fits the A4 page width, its header repeats on each page and
each section starts a page.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .writers import visible

# What a report may load: nothing but its own inline style and embedded pictures (no script, no network), so that
# even a string that escaped escaping could run nothing.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1c2833;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #d5d8dc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0;max-width:100%}
td,th{border:1px solid #d5d8dc;padding:.25em .5em;vertical-align:top;text-align:left;overflow-wrap:break-word}
th{background:#f4f6f7;overflow-wrap:normal}td.long{overflow-wrap:anywhere}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.hash{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
.lead{font-size:1.1em;background:#fdf2e9;padding:1em;border-left:4px solid #c0392b}
.note{color:#566573;font-size:.9em}.toc{columns:2;font-size:.9em}
code,pre{font-size:.8em;background:#f4f6f7}pre{padding:.5em;overflow-x:auto;white-space:pre-wrap;
overflow-wrap:anywhere}
img{max-width:100%;height:auto;box-sizing:border-box;border:1px solid #eaecee;margin:.5em 0}
figure{margin:0}details{margin:.3em 0}
@page{size:A4;margin:14mm 12mm 16mm}
@media print{
body{max-width:none;margin:0;padding:0;font-size:10pt;line-height:1.35}
h2{break-before:page;margin-top:0}h2.first{break-before:auto}h2,h3{break-after:avoid}
table{font-size:7pt;width:100%}td,th{padding:.15em .3em}thead{display:table-header-group}
tr,img,figure{break-inside:avoid}
pre{overflow:visible;font-size:7pt}a{color:inherit;text-decoration:none}.lead{font-size:1em}
}
"""


LONG = 16  # a word longer than this may break anywhere (shorter ones, as an IPv4 address or a date, stay whole)


class Html(str):
    """Markup scoping wrote itself: put into a table cell as it is."""


def e(value: object) -> str:
    """Text for HTML: escaped, control characters shown."""
    return escape(visible("" if value is None else str(value)), quote=True)


def code(text: object) -> str:
    """Text of a code block: line ends and tabs kept, every other control character shown."""
    return "\n".join(e(line).replace("\u2409", "\t") for line in str(text or "").split("\n"))


def hashed(value: str, length: int | None = None) -> Html:
    """A digest, in full or cut to `length` digits, in a cell that may break it anywhere."""
    shown = value if length is None or len(value) <= length else value[:length] + "…"
    return Html(f'<span class="hash">{e(shown)}</span>')


def name(value: str) -> Html:
    """A query or file name that may break after its underscores, slashes and dots (never inside a word)."""
    out = e(value)
    for mark in ("_", "/", "."):
        out = out.replace(mark, mark + "<wbr>")
    return Html(f"<code>{out}</code>")


def _cell(value: Any) -> str:
    if isinstance(value, Html):
        return f"<td>{value}</td>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"<td class=n>{e(f'{value:,}' if isinstance(value, int) else value)}</td>"
    text = "" if value is None else str(value)
    long = any(len(word) > LONG for word in text.split())
    return f"<td{' class=long' if long else ''}>{e(text)}</td>"


def table(rows: list[dict[str, Any]], columns: list[str] | None = None, *, limit: int | None = None) -> str:
    if not rows:
        return '<p class="note">(none)</p>'
    cols = columns or list(rows[0])
    head = "".join(f"<th>{e(c)}</th>" for c in cols)
    body = ["<tr>" + "".join(_cell(row.get(c)) for c in cols) + "</tr>" for row in (rows[:limit] if limit else rows)]
    more = f'<p class="note">… {len(rows) - limit:,} more rows in the CSV files</p>' if limit and len(rows) > limit \
        else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"
