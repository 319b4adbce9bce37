"""The report: hostile strings shown as text, no patient identifier anywhere, deterministic bytes."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from helpers import read, run_case

from scoping import Case

HOSTILE_UA = "python-requests/2.32.3 <script>alert('ua')</script><img src=x onerror=alert(1)>"
HOSTILE_LOGIN = "<svg onload=alert(3)>"


@pytest.fixture(scope="module")
def reported(world_factory, tmp_path_factory):
    import shutil

    folder = tmp_path_factory.mktemp("report") / "case"
    shutil.copytree(world_factory(seed=7, scale=0.3), folder, ignore=shutil.ignore_patterns("case.duckdb*", "out"))
    log = folder / "logs" / "gateway-2.jsonl.gz"
    lines = gzip.decompress(log.read_bytes()).decode().splitlines()
    out = []
    for line in lines:
        if "python-requests" in line:
            rec = json.loads(line)
            rec["user_agent"] = HOSTILE_UA
            rec["path"] = rec["path"].replace("/api/v1/auth/logout", "/api/v1/auth/logout?<b>x</b>")
            line = json.dumps(rec)
        out.append(line)
    spray = {"request_id": "hostile-1", "time": "12/Nov/2025:19:00:01.000 +0100", "method": "POST",
             "path": "/api/v1/auth/login", "status": 401, "user": HOSTILE_LOGIN, "client_ip": "198.51.100.10",
             "user_agent": HOSTILE_UA, "session": "h1", "payload": {"patient_ids": None}}
    out.append(json.dumps(spray))
    out.append('{"request_id": "hostile-2", "time": "<script>alert(2)</script>", "user": "x"}')
    log.write_bytes(gzip.compress(("\n".join(out) + "\n").encode()))
    _, result = run_case(folder)
    with Case.open(folder) as case:
        case.report(result)
    return folder


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
