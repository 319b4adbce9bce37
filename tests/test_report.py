"""The report: hostile strings shown as text, no patient identifier anywhere, deterministic bytes."""

from __future__ import annotations

import json
import re
import shutil

import polars as pl
from helpers import read

from scoping import Case


def _text_without_images(path) -> str:
    return re.sub(r'src="data:image/png;base64,[^"]*"', "", path.read_text())


def test_attacker_strings_are_text_never_markup(reported):
    for name in ("report.html", "report_shareable.html"):
        html = _text_without_images(reported / "out" / name)
        assert "<script" not in html.lower()
        assert "<img src=x" not in html and "<svg onload" not in html
    full = _text_without_images(reported / "out" / "report.html")
    assert "&lt;script&gt;alert(&#x27;ua&#x27;)&lt;/script&gt;" in full


def test_no_patient_identifier_in_reports_or_figures(reported):
    patients = set(read(reported / "reference/patients.csv")["patient_id"])
    files = [reported / "out" / "report.html", reported / "out" / "report_shareable.html",
             *(reported / "out" / "figures").iterdir()]
    for path in files:
        data = _text_without_images(path) if path.suffix == ".html" else path.read_bytes().decode("latin-1")
        found = set(re.findall(r"P\d{7}", data)) & patients
        assert not found, (path.name, sorted(found)[:3])


def test_shareable_variant_names_no_staff_account_or_address(reported):
    html = _text_without_images(reported / "out" / "report_shareable.html")
    accounts = set(read(reported / "reference/accounts.csv")["account_id"])
    assert not {a for a in accounts if re.search(rf"\b{re.escape(a)}\b", html)}
    assert "203.0.113." not in html and "198.51.100." not in html


def test_figures_and_report_are_deterministic(reported):
    first = {p.name: p.read_bytes() for p in (reported / "out" / "figures").iterdir()}
    html = (reported / "out" / "report.html").read_bytes()
    with Case.open(reported) as case:
        result = case.scope()
        case.publish(result)
        case.report(result)
    second = {p.name: p.read_bytes() for p in (reported / "out" / "figures").iterdir()}
    assert first == second
    assert html == (reported / "out" / "report.html").read_bytes()
    assert len(first) == 14  # seven figures, PNG and SVG


def test_manifest_lists_report_and_figures(reported):
    manifest = json.loads((reported / "out" / "manifest.json").read_text())
    assert "report.html" in manifest["files"] and "figures/coverage.png" in manifest["files"]


def test_the_recorded_run_gives_the_report_the_computed_run_gave(reported, tmp_path):
    """`scoping report` publishes the run as the store keeps it; its bytes are those of the run as computed (the
    fixture's report), and `verify --recompute` (which computes it again) agrees."""
    folder = tmp_path / "case"
    shutil.copytree(reported, folder)
    before = {name: (folder / "out" / name).read_bytes() for name in ("report.html", "report_shareable.html")}
    with Case.open(folder) as case:
        case.report(case.run())
        assert {name: (folder / "out" / name).read_bytes() for name in before} == before
        verification = case.verify(recompute=True)
    assert verification.ok, verification.problems


def _section(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def test_failed_login_bursts_are_counted_per_account_and_address_not_listed(reported):
    with Case.open(reported) as case:
        result = case.run()
    shown = result.sessions.filter((pl.col("verdict") != "owner") | pl.col("decision_justification").is_not_null())
    bursts = shown.filter((pl.col("n_refused_logins") == pl.col("n_events"))
                          & pl.col("decision_justification").is_null())
    groups = bursts.group_by("account_id", "src_ip", "verdict").agg(pl.len().alias("segments"),
                                                                     pl.col("n_refused_logins").sum())
    assert bursts.height > groups.height >= 2  # the synthetic sprayer tries several accounts, each more than once
    html = (reported / "out" / "report.html").read_text()
    listed = _section(html, '<h2 id="s4">', "<h3>Failed-login bursts</h3>")
    grouped = _section(html, "<h3>Failed-login bursts</h3>", '<h2 id="s5">')
    assert listed.count("<tr>") - 1 == shown.height - bursts.height  # a header row, then one per segment left
    assert grouped.count("<tr>") - 1 == groups.height
    for g in groups.iter_rows(named=True):
        row = next(r for r in grouped.split("<tr>") if f"({g['account_id']})</td><td>{g['src_ip']}</td>" in r)
        assert f"<td class=n>{g['segments']}</td><td class=n>{g['n_refused_logins']}</td>" in row
        assert f"<td>{g['verdict']}</td>" in row
    shareable = _section((reported / "out" / "report_shareable.html").read_text(), "<h3>Failed-login bursts</h3>",
                         '<h2 id="s5">')
    assert shareable.count("<tr>") - 1 == groups.height and "198.51.100." not in shareable


def test_a_proposed_account_the_incident_leaves_out_is_called_out(fresh_world):
    """The report's discovery section ranked the accounts without saying that one proposed as compromised was left
    out of the incident scoped: its accesses were in no list, silently."""
    from scoping.report import report_files

    folder = fresh_world(seed=7, scale=0.3)
    with Case.open(folder) as case:
        case.ingest(progress=False)
        found = case.discover()
        left_out = sorted(set(found.proposed["account_id"]) & set(case.incident().compromised_accounts))[0]
        narrowed = case.scope(case.incident().without_account(left_out))
        whole = case.scope()
    pages = report_files(narrowed, discovery=found)
    full = pages["report.html"].decode()
    assert "1 account that discovery proposes as compromised" in full
    assert left_out in full.split("is not in the incident scoped here")[1][:200]
    shareable = pages["report_shareable.html"].decode()
    assert "1 account that discovery proposes" in shareable and left_out not in shareable
    assert "proposes as compromised" not in report_files(whole, discovery=found)["report.html"].decode()


def test_a_time_the_clocks_show_twice_carries_its_offset_in_the_report_tables():
    """The session table showed 02:10 for both 00:10 and 01:10 UTC on the night the clocks go back."""
    from scoping.report import _clock, _span

    assert _clock("2025-10-26T00:10:00+00:00", "Europe/Paris") == "2025-10-26 02:10:00 (UTC+02:00)"
    assert _clock("2025-10-26T01:10:00+00:00", "Europe/Paris") == "2025-10-26 02:10:00 (UTC+01:00)"
    assert _clock("2025-10-26T02:10:00+00:00", "Europe/Paris") == "2025-10-26 03:10:00"
    assert _clock("2025-03-30T01:30:00+00:00", "Europe/Paris") == "2025-03-30 03:30:00"
    assert _clock("2025-10-26T01:10:00+00:00", "UTC") == "2025-10-26 01:10:00"
    assert _span("2025-10-26T00:50:00+00:00", "2025-10-26T01:10:00+00:00", "Europe/Paris") == \
        "2025-10-26 02:50:00 (UTC+02:00) → 02:10:00 (UTC+01:00)"
