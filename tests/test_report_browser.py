"""The report in a real browser (Debian's headless Chromium): every figure decodes, nothing errs in the console, and
printed on A4 every table keeps every column on the page. CI (`.ci/run` sets CI) installs Chromium and must run
these; elsewhere they are skipped, saying so, when Chromium is missing."""

from __future__ import annotations

import os
import re

import pytest
from browser import Browser, find_chromium

from scoping.report_html import CSS

CHROMIUM = find_chromium()
IN_CI = bool(os.environ.get("CI"))
# Skipped only on a developer's machine without Chromium; in CI a missing Chromium fails every test (`browser`).
pytestmark = pytest.mark.skipif(CHROMIUM is None and not IN_CI,
                                reason="Chromium is not installed (apt-get install chromium); CI installs it and runs "
                                       "these tests")

PAGES = ("report.html", "report_shareable.html")
A4_WIDTH_MM = 210


def _printable_px() -> int:
    """The width of the A4 page inside the margins the stylesheet sets, in CSS pixels (96 per inch)."""
    m = re.search(r"@page\{size:A4;margin:([\d.]+)mm ([\d.]+)mm", CSS)
    assert m, "the stylesheet sets an A4 page with margins in mm"
    return int((A4_WIDTH_MM - 2 * float(m.group(2))) / 25.4 * 96)


OVERFLOW = """(() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const [i, table] of Array.from(document.querySelectorAll("table")).entries()) {
    const right = table.getBoundingClientRect().right;
    if (right > width + 0.5) out.push(`table ${i + 1} ends at ${right}px, the page at ${width}px`);
    for (const cell of table.querySelectorAll("th, td")) {
      if (cell.getBoundingClientRect().right > width + 0.5 || cell.scrollWidth > cell.clientWidth + 1)
        out.push(`table ${i + 1}: cell "${cell.textContent.slice(0, 40)}" does not fit`);
    }
  }
  const scrolled = document.documentElement.scrollWidth;
  if (scrolled > width) out.push(`the page scrolls sideways (${scrolled}px)`);
  return out;
})()"""

IMAGES = """Promise.all(Array.from(document.images).map(img => img.decode().then(
  () => [img.alt, img.complete, img.naturalWidth], () => [img.alt, false, 0])))"""


@pytest.fixture(scope="session")  # set up before the report is built: a missing Chromium fails at once
def browser():
    if CHROMIUM is None:
        pytest.fail("CI is set but Chromium is missing: .ci/run installs Debian's chromium package")
    with Browser(CHROMIUM) as b:
        yield b


@pytest.fixture(scope="module", params=PAGES)
def page(request, browser, reported):
    tab = browser.page()
    tab.send("Emulation.setScrollbarsHidden", {"hidden": True})
    tab.open(reported / "out" / request.param)
    return tab


def test_every_figure_loads(page):
    images = page.evaluate(IMAGES)
    assert len(images) == 7
    assert all(complete and width > 0 for _, complete, width in images), images


def test_no_console_error(page):
    page.evaluate("document.readyState")
    assert page.errors() == []


def test_screen_has_no_sideways_scroll(page):
    page.layout(width=1400, height=900, media="screen")
    assert page.evaluate(OVERFLOW) == []
    page.layout(width=800, height=900, media="screen")
    assert page.evaluate(OVERFLOW) == []


def test_printed_on_a4_every_table_keeps_every_column_on_the_page(page):
    page.layout(width=_printable_px(), height=1000, media="print")
    assert page.evaluate(OVERFLOW) == []
    assert page.evaluate("document.querySelectorAll('h2').length") == 9
    breaks = page.evaluate("Array.from(document.querySelectorAll('h2')).map(h => getComputedStyle(h).breakBefore)")
    assert breaks == ["auto"] + ["page"] * 8  # each section after the first starts a page
    pdf = page.pdf()
    assert pdf.startswith(b"%PDF")
    sizes = set(re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf))
    assert sizes and all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in sizes), sizes
