"""The forensic report: one self-contained HTML file (figures embedded, no network), written for readers who do not
query — a data-protection officer, a practice, a lawyer, a court's expert — drawn only from the run it is given.

Two variants:
- `report.html`: the investigation's report: accounts, segments, addresses and clients, with reasons;
- `report_shareable.html`: the same findings for people outside the investigation: accounts, practices, addresses
  and clients are neutral labels ("account 2", "practice #7", "address 3"), the labels the figures use too.
Neither names a patient: the lists stay in the CSV files. Every string that came from the logs is HTML-escaped and
its control characters shown; nothing from the evidence is markup.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from . import figures
from ._version import __version__
from .discover import DiscoveryResult
from .figures import local_time
from .progress import Progress
from .queries import Query, get
from .result import ScopeResult
from .writers import visible

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1c2833;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #d5d8dc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #d5d8dc;padding:.25em .5em;
vertical-align:top;text-align:left;overflow-wrap:anywhere}th{background:#f4f6f7}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.lead{font-size:1.1em;background:#fdf2e9;padding:1em;border-left:4px solid #c0392b}
.note{color:#566573;font-size:.9em}.toc{columns:2;font-size:.9em}code,pre{font-size:.8em;background:#f4f6f7}pre{padding:.5em;overflow-x:auto;
white-space:pre-wrap}img{max-width:100%;border:1px solid #eaecee;margin:.5em 0}details{margin:.3em 0}
@media print{body{max-width:none;margin:0}table{font-size:.7em;width:100%}img{page-break-inside:avoid}
details{display:block}}
"""


def _e(value: object) -> str:
    return escape(visible("" if value is None else str(value)), quote=True)


def _code(text: object) -> str:
    """Text of a code block: line ends and tabs kept, every other control character shown."""
    return "\n".join(_e(line).replace("\u2409", "\t") for line in str(text or "").split("\n"))


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
            number = isinstance(v, int | float) and not isinstance(v, bool)
            shown = f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v
            cells.append(f"<td{' class=n' if number else ''}>{_e(shown)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="note">… {len(rows) - limit:,} more rows in the CSV files</p>' if limit and len(rows) > limit \
        else ""
    return f"<table><tr>{head}</tr>{''.join(body)}</table>{more}"


class _Labels:
    """How the report names accounts, practices, addresses and clients: in full, or as neutral labels."""

    def __init__(self, result: ScopeResult, *, shareable: bool) -> None:
        self.shareable = shareable
        self.accounts = {r["account_id"]: r["account_no"] for r in result.accounts.iter_rows(named=True)}
        self.practices = {r["practice_id"]: r["practice_no"] for r in result.summary["controllers"]}
        self.others: dict[str, dict[str, int]] = {}

    def account(self, account_id: str | None) -> str:
        if account_id is None:
            return ""
        if account_id in self.accounts:
            n = self.accounts[account_id]
            return f"account {n}" if self.shareable else f"account {n} ({account_id})"
        return self._other("other account", account_id)

    def practice(self, practice_id: str | None) -> str:
        if practice_id is None:
            return ""
        n = self.practices.get(practice_id)
        if n is None:
            return self._other("practice", practice_id)
        return f"practice #{n}" if self.shareable else f"#{n} {practice_id}"

    def value(self, kind: str, value: str | None) -> str:
        return "" if value is None else (self._other(kind, value) if self.shareable else value)

    def _other(self, kind: str, value: str) -> str:
        if not self.shareable:
            return value
        m = self.others.setdefault(kind, {})
        m.setdefault(value, len(m) + 1)
        return f"{kind} {m[value]}"


def _lead(result: ScopeResult) -> str:
    s, tz = result.summary, result.incident.timezone
    c, act = s["counts"], s["activity"]
    w = s["incident"]["windows_utc"]
    parts = [
        f"Between {_e(local_time(w[0][0], tz))} and {_e(local_time(w[-1][1], tz))}, "
        f"{len(result.incident.compromised_accounts)} account(s) of the service were used by someone other than "
        f"their holder, or could not be shown to have been used by their holder.",
        f"<b>{c['patients_affected']:,} patients</b> of <b>{c['controllers_affected']:,} practices</b> had their "
        f"record reached: {c['exposure_listed']:,} only appeared in a list (search results or an exported list), "
        f"{c['exposure_opened']:,} had their record opened, {c['exposure_copied']:,} had a copy taken "
        f"(downloaded, printed, exported or sent); {c['patients_modified']:,} had something changed in their record.",
        f"{c['patients_attempted_only']:,} more patients were only attempted: every request was refused.",
    ]
    a = act["attacker"]
    if a["first_activity_utc"]:
        parts.append(f"Attacker segments acted from {_e(local_time(a['first_activity_utc'], tz))} to "
                     f"{_e(local_time(a['last_activity_utc'], tz))}; the attacker's last patient access was at "
                     f"{_e(local_time(a['last_access_utc'], tz))}.")
    u = act["undetermined"]
    if u["first_activity_utc"]:
        counted = ("they are counted as affected (when in doubt, the patient is told) and listed for review"
                   if s["incident"]["count_undetermined"] else
                   f"they are not counted in the lists: {c['patients_left_out_undetermined']:,} patients reached "
                   f"only by them are left out")
        parts.append(f"Segments that could not be attributed acted from {_e(local_time(u['first_activity_utc'], tz))} "
                     f"to {_e(local_time(u['last_activity_utc'], tz))}; {counted}.")
    if c["patients_undetermined_only"]:
        parts.append(f"{c['patients_undetermined_only']:,} of the affected patients were reached only by such "
                     f"segments.")
    if c["unassigned_affected"] or c["unassigned_attempted"]:
        parts.append(f"{c['unassigned_affected']:,} patient ids reached and {c['unassigned_attempted']:,} attempted "
                     f"belong to no practice of the patients table: they are listed in unassigned_patients.csv "
                     f"for the vendor to resolve.")
    return " ".join(parts)


def _figures(result: ScopeResult, progress: Progress | None) -> tuple[dict[str, bytes], str]:
    files, blocks = {}, []
    for done, (name, draw) in enumerate(figures.FIGURES.items(), start=1):
        fig = draw(result)
        png = figures.render(fig, "png")
        files[f"figures/{name}.png"] = png
        files[f"figures/{name}.svg"] = figures.render(fig, "svg")
        blocks.append(f'<figure><img alt="{_e(name)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                      f"</figure>")
        if progress:
            progress("figures", done, len(figures.FIGURES))
    return files, "\n".join(blocks)


def _segments(result: ScopeResult, lab: _Labels) -> list[dict[str, Any]]:
    rows = []
    order = {"attacker": 0, "undetermined": 1, "owner": 2}
    shown = [r for r in result.sessions.iter_rows(named=True) if r["verdict"] != "owner" or r["decision_justification"]]
    for r in sorted(shown,
                    key=lambda r: (order[r["verdict"]], r["account_id"], r["segment_start_utc"])):
        rows.append({"account": lab.account(r["account_id"]),
                     "segment": f"{r['segment_no']}/{r['session_segments']}",
                     "start (UTC)": r["segment_start_utc"], "end (UTC)": r["segment_end_utc"],
                     "address": lab.value("address", r["src_ip"]), "client": lab.value("client", r["user_agent"]),
                     "patients": r["n_patients"], "verdict": r["verdict"],
                     "reasons": r["reasons"] if not (lab.shareable and r["decision_justification"]) else
                     f"analyst decision (justified in the full report); the rules said {r['rule_verdict']}"})
    return rows


SECTIONS = (
    "What happened, in plain words",
    "The incident as defined",
    "Discovery: accounts that look compromised",
    "Attribution of each segment",
    "Figures",
    "Patients affected per practice (counts only)",
    "Notification kits",
    "Data quality",
    "Method",
)


def _toc() -> str:
    return "".join(f'<li><a href="#s{i}">{_e(t)}</a></li>' for i, t in enumerate(SECTIONS, start=1))


def _owner_count(result: ScopeResult) -> int:
    return int(((result.sessions["verdict"] == "owner") & result.sessions["decision_justification"].is_null()).sum())


def _discovery(discovery: DiscoveryResult | None, lab: _Labels) -> str:
    if discovery is None:
        return ('<p class="note">Discovery was not run on this evidence (<code>scoping discover CASE</code> ranks '
                'the accounts that look compromised).</p>')
    rows = []
    for r in discovery.accounts.head(20).iter_rows(named=True):
        reasons = "; ".join(sorted(set(r["signals"].split(", ")))) if lab.shareable else r["reasons"]
        rows.append({"score": r["score"], "account": lab.account(r["account_id"]),
                     "practice": lab.practice(r["practice_id"]), "reasons": reasons,
                     "first suspicious (UTC)": r["first_suspicious_utc"],
                     "last suspicious (UTC)": r["last_suspicious_utc"]})
    return (f'<p class="note">Discovery run {_e(discovery.run_id)} over {_e(discovery.period[0].isoformat())} → '
            f"{_e(discovery.period[1].isoformat())}, each reason computed by one SQL file against the account's own "
            f"baseline.</p>{_table(rows)}")


def _gaps(result: ScopeResult) -> str:
    gaps, tz = result.summary["log_gaps"], result.incident.timezone
    if not gaps:
        return "<p>Every hour of the windows holds logged events.</p>"
    rows = [{"from": local_time(g["start_utc"], tz), "to": local_time(g["end_utc"], tz), "hours": g["hours"],
             "events the same hours usually hold": g["usual_events"],
             "reading": "usually quiet hours" if g["usual_events"] == 0 else "usually active: logs may be missing"}
            for g in gaps]
    return f"<p>Hours of the windows with no logged event at all (no evidence either way):</p>{_table(rows)}"


def _method(result: ScopeResult) -> str:
    ran = dict.fromkeys(t["query"] for t in result.run.trace)
    queries: list[Query] = []
    for name in ran:
        try:
            queries.append(get(name))
        except Exception:  # a generated statement (a mapping): shown below with its text
            continue
    rows = [{"query": q.name, "question": q.question, "assumptions": q.assumptions,
             "sha256": result.run.sql.get(q.name, q.sha256)[:16] + "…"} for q in queries]
    blocks = [_table(rows)]
    for m in result.run.mappings:
        blocks.append(f"<details><summary>mapping of source <code>{_e(m['source'])}</code> "
                      f"(sha256 {_e(str(m['mapping_sha256'])[:16])}…)</summary>"
                      f"<pre>{_code(m.get('sql'))}</pre></details>")
    return "\n".join(blocks)


def _html(result: ScopeResult, figures_html: str, discovery: DiscoveryResult | None, *, shareable: bool) -> str:
    s, tz, run = result.summary, result.incident.timezone, result.run
    lab = _Labels(result, shareable=shareable)
    inc = s["incident"]
    windows = [{"start (local)": local_time(a, tz), "end (local, excluded)": local_time(b, tz), "start UTC": a,
                "end UTC": b} for a, b in inc["windows_utc"]]
    indicators = "" if shareable else (
        f"<p>Indicators: addresses {_e(', '.join(inc['indicators']['ips']) or 'none')}; clients "
        f"{_e(', '.join(inc['indicators']['user_agents']) or 'none')}.</p>")
    dq = s["data_quality"]
    ev_rows = [{"file": lab.value("file", e["path"]) if shareable else e["path"], "kind": e["kind"],
                "sha256": e["sha256"], "lines read": e["lines_read"], "events": e["events_loaded"],
                "duplicates": e["duplicates"], "conflicts": e.get("conflicts") or 0, "quarantined": e["quarantined"],
                "DST flagged": e["dst_flagged"], "status": e["status"]} for e in run.evidence]
    practice_rows = [{"practice": lab.practice(r["practice_id"]), "patients": r["patients"], "listed": r["listed"],
                      "opened": r["opened"], "copied": r["copied"], "modified": r["modified"],
                      "file": "" if shareable else f"{result.practice_files.get(r['practice_id'], '')}.csv"}
                     for r in s["controllers"]]
    account_rows = [{"account": lab.account(r["account_id"]), "practice": lab.practice(r["practice_id"]),
                     "role": r["role"], "departed (UTC)": r["active_until_utc"],
                     "attacker segments": r["attacker_segments"], "undetermined": r["undetermined_segments"],
                     "owner": r["owner_segments"], "patients reached": r["patients_reached"]}
                    for r in result.accounts.iter_rows(named=True)]
    title = "Forensic report" + (" (shareable)" if shareable else "")
    variant = ("This shareable variant names no patient, and shows accounts, practices, network addresses and "
               "clients as neutral labels." if shareable else
               "This report names no patient; the lists are in the CSV files of the output folder (readable by "
               "their owner only). Strings that came from the logs are shown as text, never interpreted.")
    kits = len(result.practice_files)
    unmapped = s.get("unmapped_in_windows") or []
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}: {_e(s['case'])}</title>
<style>{CSS}</style></head><body>
<h1>{_e(title)}: {_e(s['case'])}</h1>
<p class="note">{_e(inc['name'])} · run {_e(run.run_id)} · scoping {_e(__version__)} · {_e(variant)}</p>
<nav><ol class="toc">{_toc()}</ol></nav>
<h2 id="s1">1. What happened, in plain words</h2>
<p class="lead">{_lead(result)}</p>
<h2 id="s2">2. The incident as defined</h2>
{_table(windows)}
<p>Compromised accounts: {_e(', '.join(lab.account(a) for a in inc['compromised_accounts']))}. Each session of these
accounts is split into segments (the part of a session from one address and one client: a session cookie replayed
from another address gives a segment of its own), and each segment is attributed from the evidence; segments that
cannot be attributed count as affected: {'yes' if inc['count_undetermined'] else 'no'}. Baseline for each account:
the {_e(inc['baseline_days'])} days before the first window.</p>
{indicators}
{_table(account_rows)}
<h2 id="s3">3. Discovery: accounts that look compromised</h2>
{_discovery(discovery, lab)}
<h2 id="s4">4. Attribution of each segment</h2>
<p>Every segment judged the attacker's or undetermined, and every segment an analyst ruled on, with its reasons;
{_owner_count(result)} segment(s) judged the owner's are in sessions.csv.</p>
{_table(_segments(result, lab), limit=300)}
<h2 id="s5">5. Figures</h2>
{figures_html}
<h2 id="s6">6. Patients affected per practice (counts only)</h2>
{_table(practice_rows)}
<h2 id="s7">7. Notification kits</h2>
<p>{kits} practice(s) have affected or attempted patients: <code>scoping notify CASE</code> writes one kit per practice
and language (letters to merge, the per-access detail, the regulator sheet) under <code>notify/&lt;lang&gt;/</code>,
named as <code>by_controller/</code> names them. They name patients: they are not part of this report.</p>
<h2 id="s8">8. Data quality</h2>
<p>{dq['lines_read']:,} lines read in {dq['evidence_files']} evidence file(s): {dq['events_loaded']:,} events,
{dq['duplicates']:,} duplicates (counted once), {dq.get('conflicts', 0):,} conflicts (a key logged again with other
content: every version kept), {dq['quarantined']:,} quarantined with their reason; {dq['dst_flagged']:,} local times
fell in a daylight-saving change.</p>
{_table(ev_rows)}
<h3>Quarantined lines by reason</h3>
{_table([{**r, "path": lab.value("file", r["path"]) if shareable else r["path"]} for r in dq['quarantine_by_reason']])}
<h3>What the logs cannot show</h3>
{_gaps(result)}
<p>Events of the compromised accounts inside the windows that the mapping left unclassified (their exposure may be
understated; their raw values, which may name patients, are in summary.json):</p>
{_table([{k: v for k, v in r.items() if k != 'action_raw'} for r in unmapped])}
<p>How the patient of each reached access was found in the logs. <code>openemr:session_context</code> means OpenEMR
recorded the chart open in the session, not necessarily the record the query touched.</p>{_table(s['patient_links'])}
<p>Searches, lists, exports or reads by counted segments that name no patient (whose data they returned is not in
the logs):</p>{_table(s['searches_without_patient_list'])}
<h2 id="s9">9. Method</h2>
<p>Every number above comes from SQL files shipped with scoping, run exactly as written (<code>scoping queries --show
NAME</code> prints one), with parameters bound; their SHA-256, the parameters of run {_e(run.run_id)} and the hashes
of the evidence and of every output file are in <code>manifest.json</code>.</p>
{_method(result)}
</body></html>
"""


def report_files(result: ScopeResult, *, discovery: DiscoveryResult | None = None,
                 progress: Progress | None = None) -> dict[str, bytes]:
    """Both report variants and the figures (PNG and SVG), as the report section of an output set; `progress` hears
    of each figure drawn."""
    files, figures_html = _figures(result, progress)
    for name, shareable in (("report.html", False), ("report_shareable.html", True)):
        files[name] = _html(result, figures_html, discovery, shareable=shareable).encode()
    return files
