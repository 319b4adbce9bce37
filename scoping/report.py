"""The forensic report: one self-contained HTML file (figures embedded, no network), written for readers
who do not query — a data-protection officer, a practice, a lawyer, a court's expert.

Two variants are written into CASE/out/:
- `report.html`: the investigation's report: accounts, sessions, addresses and clients, with reasons;
- `report_shareable.html`: the same findings for people outside the investigation: staff accounts,
  addresses and clients replaced by neutral labels.
Neither names a patient: the lists stay in the CSV files, linked by path. Every string that came from
the logs (user agents, addresses, account names) is HTML-escaped; nothing from the evidence is markup.
"""

from __future__ import annotations

import base64
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from . import figures, queries
from ._version import __version__
from .export import private_dir, write_private

if TYPE_CHECKING:
    from .case import Case
    from .scope import ScopeResult

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1c2833;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #d5d8dc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #d5d8dc;padding:.25em .5em;
vertical-align:top;text-align:left}th{background:#f4f6f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.lead{font-size:1.1em;background:#fdf2e9;padding:1em;border-left:4px solid #c0392b}
.note{color:#566573;font-size:.9em}code,pre{font-size:.8em;background:#f4f6f7}pre{padding:.5em;overflow-x:auto}
img{max-width:100%;border:1px solid #eaecee;margin:.5em 0}details{margin:.3em 0}
"""


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(rows: list[dict[str, Any]], columns: list[str] | None = None, *, limit: int | None = None) -> str:
    if not rows:
        return '<p class="note">(none)</p>'
    cols = columns or list(rows[0])
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    body = []
    for row in rows[:limit] if limit else rows:
        cells = []
        for c in cols:
            v = row.get(c)
            cls = ' class="n"' if isinstance(v, int | float) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{_e(f'{v:,}' if isinstance(v, int) and not isinstance(v, bool) else v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if limit and len(rows) > limit:
        more = f'<p class="note">… {len(rows) - limit:,} more rows in the CSV files</p>'
    return f"<table><tr>{head}</tr>{''.join(body)}</table>{more}"


def _local(iso_utc: str | None, tz: str) -> str:
    if not iso_utc:
        return "—"
    t = datetime.fromisoformat(iso_utc.replace("Z", "+00:00"))
    return f"{t.astimezone(ZoneInfo(tz)).strftime('%Y-%m-%d %H:%M')} {tz} ({t.strftime('%Y-%m-%d %H:%M')} UTC)"


class _Pseudonyms:
    """Neutral labels for staff accounts, addresses and clients in the shareable variant."""

    def __init__(self) -> None:
        self.maps: dict[str, dict[str, str]] = {}

    def label(self, kind: str, value: object) -> str:
        if value is None or value == "":
            return ""
        m = self.maps.setdefault(kind, {})
        parts = str(value).split("|")
        out = []
        for p in parts:
            if p not in m:
                m[p] = f"{kind} {len(m) + 1}"
            out.append(m[p])
        return "|".join(out)


def _summary_text(result: ScopeResult) -> str:
    s, c, tz = result.summary, result.summary["counts"], result.incident.timezone
    n_acc = len(result.incident.compromised_accounts)
    parts = [
        f"Between {_e(_local(s['incident']['windows_utc'][0][0], tz))} and "
        f"{_e(_local(s['incident']['windows_utc'][-1][1], tz))}, {n_acc} account(s) of the service were used "
        f"by someone other than their holder, or could not be shown to have been used by their holder.",
        f"<b>{c['patients_affected']:,} patients</b> of <b>{c['controllers_affected']:,} practices</b> had their "
        f"record reached: {c['exposure_listed']:,} only appeared in a list of search results, "
        f"{c['exposure_opened']:,} had their record opened, {c['exposure_copied']:,} had a copy taken "
        f"(downloaded, printed or exported); {c['patients_modified']:,} had something changed in their record.",
        f"{c['patients_attempted_only']:,} more patients were only attempted: every request was refused.",
    ]
    if c["patients_undetermined_only"]:
        parts.append(f"{c['patients_undetermined_only']:,} of the affected patients were reached only by sessions "
                     f"that could not be attributed with certainty; they are counted as affected "
                     f"(when in doubt, the patient is told) and listed for review.")
    parts.append(f"The attacker's first recorded access was at {_e(_local(c['first_attacker_access_utc'], tz))}, "
                 f"the last at {_e(_local(c['last_attacker_access_utc'], tz))}.")
    return " ".join(parts)


def _figures_html(case: Case, result: ScopeResult, out: Path, written: dict[str, str]) -> str:
    folder = private_dir(out / "figures")
    blocks = []
    for name, draw in figures.FIGURES.items():
        fig = draw(case, result)
        png = figures.render(fig, "png")
        svg = figures.render(fig, "svg")
        written[f"figures/{name}.png"] = write_private(folder / f"{name}.png", png)
        written[f"figures/{name}.svg"] = write_private(folder / f"{name}.svg", svg)
        data = base64.b64encode(png).decode()
        blocks.append(f'<figure><img alt="{_e(name)}" src="data:image/png;base64,{data}"></figure>')
    return "\n".join(blocks)


def _sessions_rows(result: ScopeResult, pseudo: _Pseudonyms | None) -> list[dict[str, Any]]:
    rows = []
    for r in result.sessions.iter_rows(named=True):
        row = {"account": r["account_id"], "start (UTC)": r["session_start_utc"], "end (UTC)": r["session_end_utc"],
               "addresses": r["src_ips"], "clients": r["user_agents"], "patients": r["n_patients"],
               "verdict": r["verdict"], "reasons": r["reasons"]}
        if pseudo:
            row["account"] = pseudo.label("account", row["account"])
            row["addresses"] = pseudo.label("address", row["addresses"])
            row["clients"] = pseudo.label("client", row["clients"])
        rows.append(row)
    return rows


def _discovery_rows(case: Case, pseudo: _Pseudonyms | None) -> list[dict[str, Any]]:
    try:
        from .discover import discover

        found = discover(case)
    except Exception as exc:  # discovery is context for the report; its absence is stated, never fatal
        return [{"note": f"discovery could not run: {exc}"}]
    rows = []
    for r in found.accounts.head(20).iter_rows(named=True):
        reasons = r["reasons"]
        account = r["account_id"]
        if pseudo:
            account = pseudo.label("account", account)
            reasons = "; ".join(sorted(set(r["signals"].split(", "))))
        rows.append({"score": r["score"], "account": account, "practice": r["practice_id"], "reasons": reasons,
                     "first suspicious (UTC)": r["first_suspicious_utc"],
                     "last suspicious (UTC)": r["last_suspicious_utc"]})
    return rows


def _method_html(case: Case) -> str:
    run = set(case.runner.sql_texts)
    rows = [{"query": q.name, "question": q.question, "sha256": q.sha256[:16] + "…"}
            for q in queries.all_queries() if q.name in run]
    maps = case.sql("SELECT source, mapping_sha256, sql FROM mappings ORDER BY source, mapping_sha256")
    blocks = [_table(rows)]
    for m in maps.iter_rows(named=True):
        blocks.append(f"<details><summary>mapping of source <code>{_e(m['source'])}</code> "
                      f"(sha256 {_e(m['mapping_sha256'][:16])}…)</summary><pre>{_e(m['sql'])}</pre></details>")
    return "\n".join(blocks)


def _kits_html(case: Case) -> str:
    folder = case.root / "out" / "notify"
    kits = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    if not kits:
        return '<p class="note">No kit written yet: <code>scoping notify CASE</code> writes one per practice.</p>'
    shown = ", ".join(f"<code>out/notify/{_e(k)}/</code>" for k in kits[:30])
    more = f" and {len(kits) - 30} more" if len(kits) > 30 else ""
    return (f"<p>One kit per practice ({len(kits)}): letters to merge, the regulator sheet (summary.md) "
            f"and an example letter, in {shown}{more}. They are linked here by path only: they name patients.</p>")


def _html(case: Case, result: ScopeResult, figures_html: str, *, shareable: bool) -> str:
    s, tz = result.summary, result.incident.timezone
    pseudo = _Pseudonyms() if shareable else None
    inc = s["incident"]
    windows = [{"start (local)": _local(a, tz), "end (local, excluded)": _local(b, tz), "start UTC": a, "end UTC": b}
               for a, b in inc["windows_utc"]]
    accounts = [pseudo.label("account", a) if pseudo else a for a in inc["compromised_accounts"]]
    indicators = "" if shareable else (
        f"<p>Indicators: addresses {_e(', '.join(inc['indicators']['ips']) or 'none')}; clients "
        f"{_e(', '.join(inc['indicators']['user_agents']) or 'none')}.</p>")
    dq = s["data_quality"]
    evidence = case.runner.frame("summary_evidence")
    ev_rows = [{"file": r["path"], "kind": r["kind"], "sha256": r["sha256"], "lines read": r["lines_read"],
                "events": r["events_loaded"], "duplicates": r["duplicates"], "quarantined": r["quarantined"],
                "DST flagged": r["dst_flagged"], "status": r["status"]} for r in evidence.iter_rows(named=True)]
    practice_rows = [{"practice": r["practice_id"], "patients": r["patients"], "listed": r["listed"],
                      "opened": r["opened"], "copied": r["copied"], "modified": r["modified"],
                      "list to notify": f"out/by_controller/… ({r['practice_id']})"} for r in s["controllers"]]
    title = "Forensic report" + (" (shareable)" if shareable else "")
    variant = ("This shareable variant names no patient and replaces staff accounts, network addresses and "
               "clients by neutral labels." if shareable else
               "This report names no patient; the lists are in the CSV files of out/ (readable by their owner "
               "only). Strings that came from the logs are shown as text, never interpreted.")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}: {_e(s['case'])}</title>
<style>{CSS}</style></head><body>
<h1>{_e(title)}: {_e(s['case'])}</h1>
<p class="note">{_e(inc['name'])} · scoping {_e(__version__)} · {_e(variant)}</p>
<h2>What happened, in plain words</h2>
<p class="lead">{_summary_text(result)}</p>
<h2>The incident as defined</h2>
{_table(windows)}
<p>Compromised accounts: {_e(', '.join(accounts))}. Sessions of these accounts are attributed from the
evidence; sessions that cannot be attributed count as affected: {'yes' if inc['count_undetermined'] else 'no'}.
Baseline for each account: the {_e(inc['baseline_days'])} days before the first window.</p>
{indicators}
<h2>Discovery: accounts that look compromised</h2>
<p class="note">Ranked by scoping discover over the week before the last event, each reason computed by one
SQL file (discover_signals, discover_pivot) against the account's own baseline.</p>
{_table(_discovery_rows(case, pseudo))}
<h2>Attribution of each session</h2>
{_table(_sessions_rows(result, pseudo), limit=200)}
<h2>Figures</h2>
{figures_html}
<h2>Patients affected per practice (counts only)</h2>
{_table(practice_rows)}
<h2>Notification kits</h2>
{_kits_html(case)}
<h2>Data quality</h2>
<p>{dq['lines_read']:,} lines read in {dq['evidence_files']} evidence file(s): {dq['events_loaded']:,} events,
{dq['duplicates']:,} duplicates (counted once), {dq['quarantined']:,} quarantined with their reason;
{dq['dst_flagged']:,} local times fell in a daylight-saving change.</p>
{_table(ev_rows)}
<h3>Quarantined lines by reason</h3>
{_table(dq['quarantine_by_reason'])}
<h3>What the logs cannot show</h3>
<p>Hours of the windows with no logged event at all (no evidence either way): {_e(', '.join(s['log_gaps_utc'])
    or 'none')}.</p>
<p>How the patient of each reached access was found in the logs. <code>openemr:session_context</code> means
OpenEMR recorded the chart open in the session, not necessarily the record the query touched: such
attributions should be checked against the query text when it is available.</p>{_table(s['patient_links'])}
<p>Searches, lists, exports or reads by counted sessions that name no patient (whose data they returned is not
in the logs):</p>{_table(s['searches_without_patient_list'])}
<h2>Method</h2>
<p>Every number above comes from SQL files shipped with scoping, run exactly as written (their full text:
<code>scoping queries --show NAME</code>), with parameters bound; their SHA-256 and those of the evidence and
outputs are in <code>out/manifest.json</code>.</p>
{_method_html(case)}
</body></html>
"""


def write_report(case: Case, result: ScopeResult, out: Path | None = None) -> Path:
    """Figures and both report variants into out/; the manifest is rewritten to include them."""
    out = out or case.root / "out"
    private_dir(out)
    figures_html = _figures_html(case, result, out, result.outputs)
    for name, shareable in (("report.html", False), ("report_shareable.html", True)):
        result.outputs[name] = write_private(out / name, _html(case, result, figures_html,
                                                              shareable=shareable).encode())
    result.write_manifest(out)
    return out / "report.html"

