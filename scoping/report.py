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
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from . import figures
from ._version import __version__
from .discover import DiscoveryResult
from .figures import local_time
from .progress import Progress
from .queries import Query, get
from .report_html import CSP, CSS, Html, hashed, name, table
from .report_html import code as _code
from .report_html import e as _e
from .result import VERDICT_ORDER, ScopeResult
from .scope import USUAL_WEEKS, USUALLY_ACTIVE_ACCOUNTS


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
    for done, (fig_name, draw) in enumerate(figures.FIGURES.items(), start=1):
        fig = draw(result)
        png = figures.render(fig, "png")
        files[f"figures/{fig_name}.png"] = png
        files[f"figures/{fig_name}.svg"] = figures.render(fig, "svg")
        blocks.append(f'<figure><img alt="{_e(fig_name)}" src="data:image/png;base64,'
                      f'{base64.b64encode(png).decode()}"></figure>')
        if progress:
            progress("figures", done, len(figures.FIGURES))
    return files, "\n".join(blocks)


def _clock(iso_utc: str | None, tz: str) -> str:
    """An instant of a table, to the second, in the incident's zone (the table's caption names the zone); a time the
    clocks show twice (the hour they go back) carries its offset, which says which of the two it is."""
    if not iso_utc:
        return ""
    local = datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
    shown = local.strftime("%Y-%m-%d %H:%M:%S")
    zone = local.tzinfo
    twice = local.replace(fold=0, tzinfo=zone).utcoffset() != local.replace(fold=1, tzinfo=zone).utcoffset()
    offset = local.strftime("%z")
    return f"{shown} (UTC{offset[:3]}:{offset[3:]})" if twice else shown


def _span(first: str | None, last: str | None, tz: str) -> str:
    """From when to when, the second date left out when it is the first's."""
    a, b = _clock(first, tz), _clock(last, tz)
    return f"{a} → {b[11:] if a[:10] == b[:10] else b}" if a and b else a or b


def _burst(r: dict[str, Any]) -> bool:
    """A segment of refused logins only, that no analyst ruled on: one of a burst the report counts, not lists."""
    return bool(r["n_refused_logins"]) and r["n_refused_logins"] == r["n_events"] and not r["decision_justification"]


def _shown(result: ScopeResult) -> list[dict[str, Any]]:
    order = VERDICT_ORDER
    shown = [r for r in result.sessions.iter_rows(named=True) if r["verdict"] != "owner" or r["decision_justification"]]
    return sorted(shown, key=lambda r: (order[r["verdict"]], r["account_id"], r["segment_start_utc"]))


def _segments(result: ScopeResult, lab: _Labels) -> list[dict[str, Any]]:
    rows, tz = [], result.incident.timezone
    for r in _shown(result):
        if _burst(r):
            continue
        rows.append({"account": lab.account(r["account_id"]),
                     "segment": f"{r['segment_no']}/{r['session_segments']}",
                     "when": _span(r["segment_start_utc"], r["segment_end_utc"], tz),
                     "address": lab.value("address", r["src_ip"]), "client": lab.value("client", r["user_agent"]),
                     "events": r["n_events"], "patients": r["n_patients"], "verdict": r["verdict"],
                     "reasons": r["reasons"] if not (lab.shareable and r["decision_justification"]) else
                     f"analyst decision (justified in the full report); the rules said {r['rule_verdict']}"})
    return rows


def _bursts(result: ScopeResult, lab: _Labels) -> list[dict[str, Any]]:
    """Failed-login bursts (segments of refused logins only) per account, address and verdict: how many segments and
    refused logins, from when to when, for which reasons."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    tz = result.incident.timezone
    for r in _shown(result):
        if _burst(r):
            groups.setdefault((r["account_id"], r["src_ip"] or "", r["verdict"]), []).append(r)
    rows = []
    for (account, address, verdict), members in groups.items():
        clients = sorted({m["user_agent"] or "" for m in members})
        rows.append({"account": lab.account(account), "address": lab.value("address", address or None),
                     "client": lab.value("client", clients[0] or None) if len(clients) == 1 else
                     f"{len(clients)} clients",
                     "segments": len(members), "refused logins": sum(m["n_refused_logins"] for m in members),
                     "when": _span(min(m["segment_start_utc"] for m in members),
                                   max(m["segment_end_utc"] for m in members), tz), "verdict": verdict,
                     "reasons": " | ".join(dict.fromkeys(m["reasons"] for m in members))})
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


def _discovery(discovery: DiscoveryResult | None, lab: _Labels, scoped: set[str]) -> str:
    """The discovery's ranking, each account said to be in the incident scoped or not; a proposed account the incident
    leaves out is called out (its accesses are in no list)."""
    if discovery is None:
        return ('<p class="note">Discovery was not run on this evidence (<code>scoping discover CASE</code> ranks '
                'the accounts that look compromised).</p>')
    rows = []
    for r in discovery.accounts.head(20).iter_rows(named=True):
        reasons = "; ".join(sorted(set(r["signals"].split(", ")))) if lab.shareable else r["reasons"]
        proposed = r["score"] >= discovery.settings.threshold
        rows.append({"score": r["score"], "account": lab.account(r["account_id"]),
                     "practice": lab.practice(r["practice_id"]), "reasons": reasons,
                     "suspicious activity": _span(r["first_suspicious_utc"], r["last_suspicious_utc"],
                                                  discovery.timezone),
                     "in the incident": "yes" if r["account_id"] in scoped else "NO" if proposed else "no"})
    left_out = [a for a in discovery.proposed["account_id"].to_list() if a not in scoped]
    warning = "" if not left_out else (
        f'<p class="note"><strong>{len(left_out)} account{"s" if len(left_out) != 1 else ""} that discovery proposes '
        f"as compromised (score ≥ {discovery.settings.threshold}) "
        f"{'is' if len(left_out) == 1 else 'are'} not in the incident scoped here"
        + ("" if lab.shareable else f": {_e(', '.join(sorted(left_out)))}")
        + ". Their accesses are in no list: review them, and add them to the incident or record why not.</strong></p>")
    empty = "" if discovery.period_events != 0 else (
        '<p class="note"><strong>No event falls in the period discovery examined: it ranked nothing, which says '
        "nothing of the accounts.</strong></p>")
    return (f'<p class="note">Discovery run {_e(discovery.run_id)} over {_e(discovery.period[0].isoformat())} → '
            f"{_e(discovery.period[1].isoformat())}, each reason computed by one SQL file against the account's own "
            f"baseline; times are {_e(discovery.timezone)} time.</p>{empty}{warning}{table(rows)}")


def _gaps(result: ScopeResult) -> str:
    gaps, tz = result.summary["log_gaps"], result.incident.timezone
    if not gaps:
        return "<p>Every hour of the windows holds logged events.</p>"
    rows = [{"from": local_time(g["start_utc"], tz), "to": local_time(g["end_utc"], tz), "hours": g["hours"],
             "events the same hours usually hold": g["usual_events"],
             "reading": "usually active: logs may be missing" if g["usually_active"] else "usually quiet hours"}
            for g in gaps]
    return (f"<p>Hours of the windows with no logged event at all (no evidence either way). An hour is usually "
            f"active when, in most of the {USUAL_WEEKS} weeks before, at least {USUALLY_ACTIVE_ACCOUNTS} accounts "
            f"worked at the same hour of the same weekday; an empty hour that is usually quiet is no sign of missing "
            f"logs.</p>{table(rows)}")


def _sequences(result: ScopeResult, lab: _Labels) -> str:
    tz = result.incident.timezone
    sources = [{"source": r["source"], "records in the windows": r["records"],
                "ids": "sequential" if r["sequential"] else
                ("not numbered" if r["numeric_ids"] < r["records"] else "not sequential"),
                "first id": str(r["first_id"]) if r["sequential"] else "",
                "last id": str(r["last_id"]) if r["sequential"] else ""}
               for r in result.frames["sequence_sources"].iter_rows(named=True)]
    holes = [{"source": r["source"], "missing ids": f"{r['first_missing']} – {r['last_missing']}",
              "missing": r["missing"], "unreadable lines between": r["quarantined_between"],
              "after (local)": local_time(r["after_utc"], tz), "before (local)": local_time(r["before_utc"], tz),
              "between": f"{lab.value('file', r['after_file'])}:{r['after_line']} and "
                         f"{lab.value('file', r['before_file'])}:{r['before_line']}"}
             for r in result.frames["sequence_gaps"].iter_rows(named=True)]
    found = (f"<p>Holes in the ids inside the windows: ids that no line of the evidence holds (a quarantined line "
             f"holds its id, unreadable):</p>{table(holes)}" if holes else
             "<p>No id is missing inside the windows from the sources numbered sequentially.</p>")
    return (f"<p>A log that numbers its records one after another shows a deleted or lost record as a hole in the ids "
            f"(scope_sequence_sources, scope_sequence_gaps):</p>{table(sources)}{found}")


def _method(result: ScopeResult) -> str:
    ran = dict.fromkeys(t["query"] for t in result.run.trace)
    queries: list[Query] = []
    for query_name in ran:
        try:
            queries.append(get(query_name))
        except Exception:  # a generated statement (a mapping): shown below with its text
            continue
    rows = [{"query": Html(f"{name(q.name)}<br>{hashed(result.run.sql.get(q.name, q.sha256), 16)}"),
             "question": q.question, "assumptions": q.assumptions} for q in queries]
    blocks = [table(rows)]
    for m in result.run.mappings:
        blocks.append(f"<details><summary>mapping of source <code>{_e(m['source'])}</code> "
                      f"(sha256 {_e(str(m['mapping_sha256'])[:16])}…)</summary>"
                      f"<pre>{_code(m.get('sql'))}</pre></details>")
    return "\n".join(blocks)


def _recorded(result: ScopeResult) -> str:
    """When the run was first recorded: the date the report states (never the clock, so that the same run gives the
    same bytes)."""
    when = result.run.first_recorded_at
    return f"{when[:16].replace('T', ' ')} UTC" if when else "not recorded"


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
                "sha256": hashed(e["sha256"]), "lines read": e["lines_read"], "events": e["events_loaded"],
                "duplicates": e["duplicates"], "conflicts": e.get("conflicts") or 0, "quarantined": e["quarantined"],
                "DST flagged": e["dst_flagged"], "status": e["status"]} for e in run.evidence]
    practice_rows = [{"practice": lab.practice(r["practice_id"]), "patients": r["patients"], "listed": r["listed"],
                      "opened": r["opened"], "copied": r["copied"], "modified": r["modified"],
                      "file": "" if shareable else f"{result.practice_files.get(r['practice_id'], '')}.csv"}
                     for r in s["controllers"]]
    account_rows = [{"account": lab.account(r["account_id"]), "practice": lab.practice(r["practice_id"]),
                     "role": r["role"], "departed": _clock(r["active_until_utc"], tz),
                     "attacker segments": r["attacker_segments"], "undetermined": r["undetermined_segments"],
                     "owner": r["owner_segments"], "excluded by a decision": r.get("excluded_segments", 0),
                     "patients reached": r["patients_reached"]}
                    for r in result.accounts.iter_rows(named=True)]
    if not any(r["excluded by a decision"] for r in account_rows):  # a column only when a decision excluded one
        account_rows = [{k: v for k, v in r.items() if k != "excluded by a decision"} for r in account_rows]
    title = "Forensic report" + (" (shareable)" if shareable else "")
    variant = ("This shareable variant names no patient, and shows accounts, practices, network addresses and "
               "clients as neutral labels." if shareable else
               "This report names no patient; the lists are in the CSV files of the output folder (readable by "
               "their owner only). Strings that came from the logs are shown as text, never interpreted.")
    kits = len(result.practice_files)
    unmapped = s.get("unmapped_in_windows") or []
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="generator" content="scoping {_e(__version__)}"><title>{_e(title)}: {_e(s['case'])}</title>
<style>{CSS}</style></head><body>
<h1>{_e(title)}: {_e(s['case'])}</h1>
<p class="note">{_e(inc['name'])} · run {_e(run.run_id)}, first recorded {_e(_recorded(result))} · made by scoping
{_e(__version__)} · {_e(variant)}</p>
<nav><ol class="toc">{_toc()}</ol></nav>
<h2 id="s1" class="first">1. What happened, in plain words</h2>
<p class="lead">{_lead(result)}</p>
<h2 id="s2">2. The incident as defined</h2>
{table(windows)}
<p>Compromised accounts: {_e(', '.join(lab.account(a) for a in inc['compromised_accounts']))}. Each session of these
accounts is split into segments (the part of a session from one address and one client: a session cookie replayed
from another address gives a segment of its own), and each segment is attributed from the evidence; segments that
cannot be attributed count as affected: {'yes' if inc['count_undetermined'] else 'no'}. Baseline for each account:
the {_e(inc['baseline_days'])} days before the first window; an address or a client is the account's usual one when
the account used it on at least {_e(inc.get('usual_min_days', 1))} different days of it. Times are {_e(tz)} time.</p>
{indicators}
{table(account_rows)}
<h2 id="s3">3. Discovery: accounts that look compromised</h2>
{_discovery(discovery, lab, set(result.incident.compromised_accounts))}
<h2 id="s4">4. Attribution of each segment</h2>
<p>Every segment judged the attacker's or undetermined, and every segment an analyst ruled on, with its reasons;
{_owner_count(result)} segment(s) judged the owner's are in sessions.csv. Times are {_e(tz)} time.</p>
{table(_segments(result, lab), limit=300)}
<h3>Failed-login bursts</h3>
<p>Segments of refused logins only (password spraying, guessing), counted per account, address and verdict rather
than listed one by one (each is a row of sessions.csv):</p>
{table(_bursts(result, lab))}
<h2 id="s5">5. Figures</h2>
{figures_html}
<h2 id="s6">6. Patients affected per practice (counts only)</h2>
{table(practice_rows)}
<h2 id="s7">7. Notification kits</h2>
<p>{kits} practice(s) have affected or attempted patients: <code>scoping notify CASE</code> writes one kit per practice
and language (letters to merge, the per-access detail, the regulator sheet) under <code>notify/&lt;lang&gt;/</code>,
named as <code>by_controller/</code> names them. They name patients: they are not part of this report.</p>
<h2 id="s8">8. Data quality</h2>
<p>{dq['lines_read']:,} lines read in {dq['evidence_files']} evidence file(s): {dq['events_loaded']:,} events,
{dq['duplicates']:,} duplicates (counted once), {dq.get('conflicts', 0):,} conflicts (a key logged again with other
content: every version kept), {dq['quarantined']:,} quarantined with their reason; {dq['dst_flagged']:,} local times
fell in a daylight-saving change.</p>
{table(ev_rows)}
<h3>Quarantined lines by reason</h3>
{table([{**r, "path": lab.value("file", r["path"]) if shareable else r["path"]} for r in dq['quarantine_by_reason']],
      ["path", "reason", "lines", "first_line"])}
<h3>What the logs cannot show</h3>
{_gaps(result)}
<h3>Holes in the logs' own numbering</h3>
{_sequences(result, lab)}
<p>Events of the compromised accounts inside the windows that the mapping left unclassified (their exposure may be
understated; their raw values, which may name patients, are in summary.json):</p>
{table(unmapped, ["action", "category", "events"])}
<p>How the patient of each reached access was found in the logs. <code>openemr:session_context</code> means OpenEMR
recorded the chart open in the session, not necessarily the record the query touched.</p>
{table(s['patient_links'], ["patient_link", "patients", "accesses"])}
<p>Searches, lists, exports or reads by counted segments that name no patient (whose data they returned is not in
the logs):</p>{table(s['searches_without_patient_list'], ["action", "events"])}
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
    for page, shareable in (("report.html", False), ("report_shareable.html", True)):
        files[page] = _html(result, figures_html, discovery, shareable=shareable).encode()
    return files
