"""A practice's regulator sheet (GDPR Art. 33 / CNIL form; HIPAA 164.404/408): every title, label and value in
the kit's language, from the wording tables.

The sheet states what the run found for that practice's patients, and what concerns every practice (attacker and
undetermined activity, log gaps) in the same words and from the same numbers as summary.json, the command line
and the report (`summary["activity"]`, `summary["log_gaps"]`). What only the practice knows is marked to be
completed. `summary.md` is the sheet to read; `summary.json` holds the same sheet as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl

from .phrasing import Phrasing, sorted_categories
from .wording import Wording
from .writers import visible

Value = str | int | list[str]
QUIET_BELOW = 1  # a gap whose hours usually hold fewer events than this, in all, is a gap in quiet hours


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def gap_statement(gap: Mapping[str, Any], phr: Phrasing) -> str:
    """One range of hours without logs, in plain words and local time, said to be usual or not."""
    a, b = phr.local(utc(gap["start_utc"])), phr.local(utc(gap["end_utc"]))
    # a time the clocks show twice says its zone itself: the _dst form leaves out the phrase's own
    twice = phr.happens_twice(a) or phr.happens_twice(b)  # then both ends say their zone and offset
    own_zone = twice and phr.has_dst_form("sheet_text", "gap_same_day" if a.date() == b.date() else "gap_two_days")
    suffix, zone = ("_dst", {}) if own_zone else ("", {"zone": phr.zone})
    start, end = phr.clock(a, explicit=twice), phr.clock(b, explicit=twice)
    if a.date() == b.date():
        text = phr.words.text("sheet_text", "gap_same_day" + suffix, date=phr.date(a), start=start, end=end, **zone)
    else:
        text = phr.words.text("sheet_text", "gap_two_days" + suffix, date=phr.date(a), start=start,
                              end_date=phr.date(b), end=end, **zone)
    usual = float(gap.get("usual_events") or 0)
    if usual < QUIET_BELOW:
        return phr.words.text("sheet_text", "gap_quiet", gap=text)
    return phr.words.text("sheet_text", "gap_active", gap=text, usual=phr.number(round(usual)))


def activity_statement(activity: Mapping[str, Any] | None, phr: Phrasing, *, undetermined: bool) -> str:
    """First and last action and patient reached of one kind of segment, from summary["activity"]."""
    w = phr.words
    if not activity or not activity.get("events"):
        return w.text("sheet_text", "activity_none")

    def moment(key: str) -> str:
        value = activity.get(key)
        return phr.moment(utc(value)) if value else w.text("sheet_text", "activity_none")

    text = w.text("sheet_text", "activity", first=moment("first_activity_utc"), last=moment("last_activity_utc"),
                  first_access=moment("first_access_utc"), last_access=moment("last_access_utc"),
                  events=phr.number(int(activity["events"])), patients=phr.number(int(activity["patients_reached"])))
    if undetermined:
        counted = w.text("sheet_text", "counted" if activity.get("counted_in_lists") else "not_counted")
        text = f"{text}{w.tables['grammar']['item_separator']}{counted}"
    return text


def sheet(*, practice: str, summary: Mapping[str, Any], phr: Phrasing, affected: pl.DataFrame,
          attempted: pl.DataFrame, pairs: pl.DataFrame, reached_accounts: list[str], records: int,
          no_contact: int | None, settings: Mapping[str, Any]) -> tuple[str, list[tuple[str, list[tuple[str, Value]]]]]:
    """The sheet's title and its sections, each a list of (label, value)."""
    w = phr.words
    todo = w.text("values", "to_complete")
    inc = summary["incident"]
    modified = int(affected["modified"].cast(pl.String).str.to_lowercase().eq("true").sum())
    per_category = dict(pairs.group_by("category").agg(pl.col("patient_id").n_unique()).iter_rows())
    order = sorted_categories(list(per_category))
    counts = [w.text("sheet_text", "category_count", name=w.label("category_names", c),
                     count=phr.number(int(per_category[c]))) for c in order]
    kinds = [w.text("sheet_text", "confidentiality")] + ([w.text("sheet_text", "integrity")] if modified else [])
    firsts = affected["first_access_utc"].drop_nulls().to_list()
    lasts = affected["last_access_utc"].drop_nulls().to_list()

    def moment(iso: str | None) -> str:
        return phr.moment(utc(iso)) if iso else w.text("values", "none")

    def given(key: str) -> str:
        return str(settings.get(key) or todo)

    gaps = [gap_statement(g, phr) for g in summary.get("log_gaps", [])] or [w.text("sheet_text", "no_gap")]
    activity = summary.get("activity", {})
    patients: list[tuple[str, Value]] = [
        ("affected", affected.height), ("listed_only", int((affected["exposure"] == "listed").sum())),
        ("opened", int((affected["exposure"] == "opened").sum())),
        ("copied", int((affected["exposure"] == "copied").sum())), ("modified", modified),
        ("attempted_only", attempted.height),
        ("undetermined_only", int((affected["attribution"] == "undetermined").sum())), ("records", records)]
    if no_contact is not None:
        patients.append(("no_contact", no_contact))
    patients.append(("by_category", counts or [w.text("values", "none")]))
    sections: list[tuple[str, list[tuple[str, Value]]]] = [
        ("controller", [("practice_id", practice), ("name", todo), ("siren", todo), ("address", todo),
                        ("dpo_contact", todo)]),
        ("nature", [("processor", given("processor")), ("type", phr.join(kinds)),
                    ("description", w.text("sheet_text", "description")),
                    ("data_categories", w.text("sheet_text", "health_data", categories=phr.join(
                        [w.label("category_names", c) for c in order]) or w.text("values", "none")))]),
        ("dates", [("windows", [phr.when(utc(a), utc(b)) for a, b in inc["windows_utc"]]),
                   ("windows_utc", [f"{a} → {b}" for a, b in inc["windows_utc"]]),
                   ("first_access", moment(min(firsts, default=None))),
                   ("last_access", moment(max(lasts, default=None))),
                   ("attacker_activity", activity_statement(activity.get("attacker"), phr, undetermined=False)),
                   ("undetermined_activity", activity_statement(activity.get("undetermined"), phr,
                                                                undetermined=True)),
                   ("containment", moment(inc["containment_utc"]) if inc.get("containment_utc") else todo),
                   ("detection", todo), ("processor_notice", todo)]),
        ("patients", patients),
        ("accounts", [("accounts", reached_accounts or [w.text("values", "none")])]),
        ("evidence", [("method", w.text("sheet_text", "method")), ("log_gaps", gaps),
                      ("unlisted_searches", sum(int(r["events"]) for r in summary.get("searches_without_patient_list",
                                                                                       []))),
                      ("quarantined", int(summary.get("data_quality", {}).get("quarantined", 0))),
                      ("tool", w.text("sheet_text", "tool", version=summary["tool"]["version"]))]),
        ("to_complete", [("measures", given("measures")), ("consequences", todo), ("patients_informed", todo)]),
    ]
    titled = [(w.text("sheet", name), [(w.text("sheet_items", k), v) for k, v in items]) for name, items in sections]
    return w.text("sheet", "title", practice=practice), titled


def as_json(title: str, sections: list[tuple[str, list[tuple[str, Value]]]]) -> dict[str, Any]:
    return {title: {name: dict(items) for name, items in sections}}


def as_markdown(title: str, sections: list[tuple[str, list[tuple[str, Value]]]], words: Wording,
                phr: Phrasing) -> str:
    lines = [f"# {title}", ""]
    for name, items in sections:
        lines.append(f"## {name}")
        for label, value in items:
            if isinstance(value, list):
                lines.append("- " + words.text("sheet", "item", label=label, value="").rstrip())
                lines += [f"  - {visible(v)}" for v in value]
            else:
                shown = phr.number(value) if isinstance(value, int) else visible(value)
                lines.append("- " + words.text("sheet", "item", label=label, value=shown).rstrip())
        lines.append("")
    return "\n".join(lines)
