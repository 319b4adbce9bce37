"""The report's figures: matplotlib `Figure` objects (never pyplot state) drawn only from the `ScopeResult` given.

A figure never re-reads the store, so figures of run A drawn after run B still show A. None carries a patient,
account, address or practice identifier: accounts are "account 1, 2…" and practices "practice #1, #2…", the
numbers of accounts.csv and of the report's tables. Times are plotted in UTC and each axis says so, with the
incident's local offset; titles that state a time take it from the run's summary (the same words as the command
line, summary.json and the report). No backend is forced: in Jupyter a returned figure shows inline.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import matplotlib
import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .result import ScopeResult


class ReportFigure(Figure):
    """A matplotlib Figure that shows itself where it is the value of a notebook cell (IPython asks for
    `_repr_png_`), with no pyplot state and no backend forced: the command line saves the same object to files."""

    def _repr_png_(self) -> bytes:
        return render(self, "png")


VERDICT_COLOURS = {"attacker": "#c0392b", "undetermined": "#e67e22", "owner": "#2e86c1", "excluded": "#95a5a6"}
EXPOSURE_COLOURS = {"listed": "#f5b041", "opened": "#e67e22", "copied": "#c0392b"}


def local_time(iso_utc: str | None, tz: str) -> str:
    """An instant of the summary as the figures and the report state it: local time, with the zone."""
    if not iso_utc:
        return "—"
    t = datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
    return f"{t.strftime('%Y-%m-%d %H:%M')} ({tz})"


def _utc_label(result: ScopeResult) -> str:
    tz = result.incident.timezone
    off = result.incident.start.astimezone(ZoneInfo(tz)).utcoffset() or timedelta(0)
    return f"time (UTC; {tz} = UTC{off.total_seconds() / 3600:+g} at the breach)"


def _shade_windows(ax, result: ScopeResult) -> None:  # type: ignore[no-untyped-def]
    for w in result.incident.windows:
        ax.axvspan(w.start, w.end, color="#f9e79f", alpha=0.35, lw=0, label="_window")
    if result.incident.containment:
        ax.axvline(result.incident.containment, color="black", lw=1, ls="--")


def _time_axis(ax) -> None:  # type: ignore[no-untyped-def]
    loc = mdates.AutoDateLocator(tz=UTC)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, tz=UTC))


def _attacker_span(result: ScopeResult) -> str:
    a = result.summary["activity"]["attacker"]
    tz = result.incident.timezone
    if not a["first_activity_utc"]:
        return "no attacker activity in the windows"
    return f"attacker active {local_time(a['first_activity_utc'], tz)} → {local_time(a['last_activity_utc'], tz)}"


def account_timeline(result: ScopeResult) -> ReportFigure:
    df = result.frames["segment_bars"]
    numbers = sorted(set(df["account_no"].to_list()))
    fig = ReportFigure(figsize=(10, 1.4 + 0.45 * max(len(numbers), 1)))
    ax = fig.add_subplot()
    _shade_windows(ax, result)
    for row in df.iter_rows(named=True):
        y = numbers.index(row["account_no"])
        start, end = row["segment_start"], row["segment_end"]
        width = max((end - start).total_seconds(), 120) / 86400
        ax.barh(y, width, left=mdates.date2num(start), height=0.6, color=VERDICT_COLOURS[row["verdict"]])
    ax.set_yticks(range(len(numbers)), [f"account {n}" for n in numbers])
    ax.invert_yaxis()
    shown = set(df["verdict"].to_list())
    handles = [Patch(color=colour, label=verdict) for verdict, colour in VERDICT_COLOURS.items()
               if verdict != "excluded" or verdict in shown]  # the analyst's exclusions only when there are some
    ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=True)
    _time_axis(ax)
    ax.set_xlabel(_utc_label(result))
    ax.set_title(f"Segments of the compromised accounts' sessions, by attribution (windows shaded)\n"
                 f"{_attacker_span(result)}", fontsize=10)
    fig.tight_layout()
    return fig


def cumulative_patients(result: ScopeResult) -> ReportFigure:
    df = result.frames["first_reach"]
    fig = ReportFigure(figsize=(10, 4))
    ax = fig.add_subplot()
    _shade_windows(ax, result)
    if df.height:
        times = df["first_ts"].to_list()
        ax.step(times, np.arange(1, len(times) + 1), where="post", color="#c0392b")
    if result.incident.containment:
        ax.annotate("containment", (mdates.date2num(result.incident.containment), 0), rotation=90,
                    va="bottom", ha="right", fontsize=8)
    _time_axis(ax)
    ax.set_xlabel(_utc_label(result))
    ax.set_ylabel("distinct patients reached")
    counted = "attacker and undetermined" if result.summary["incident"]["count_undetermined"] else "attacker"
    a = result.summary["activity"]["attacker"]
    ax.set_title(f"Patients reached over time by {counted} segments (total {df.height:,}); the attacker's last "
                 f"access: {local_time(a['last_access_utc'], result.incident.timezone)}", fontsize=10)
    fig.tight_layout()
    return fig


def hourly_activity(result: ScopeResult) -> ReportFigure:
    df = result.frames["hourly"]
    fig = ReportFigure(figsize=(10, 4))
    ax = fig.add_subplot()
    _shade_windows(ax, result)
    if df.height:
        ax.plot(df["hour_utc"].to_list(), df["accesses"].to_list(), color="#c0392b", lw=1.2,
                label="patient accesses logged")
        ax.plot(df["hour_utc"].to_list(), df["baseline_mean"].to_list(), color="#7f8c8d", lw=1, ls="--",
                label="same hour of the week, mean of the 4 weeks before")
    ax.legend(fontsize=8, frameon=False)
    _time_axis(ax)
    ax.set_xlabel(_utc_label(result))
    ax.set_ylabel("accesses per hour (all accounts)")
    ax.set_title("Access volume around the breach against the baseline")
    fig.tight_layout()
    return fig


def practices(result: ScopeResult) -> ReportFigure:
    rows = sorted(result.summary["controllers"], key=lambda r: (-r["patients"], r["practice_no"]))
    fig = ReportFigure(figsize=(10, 4.5))
    ax = fig.add_subplot(1, 2, 1)
    top = rows[:15]
    names = [f"practice #{r['practice_no']}" for r in top][::-1]
    bottom = np.zeros(len(top))
    for level in ("listed", "opened", "copied"):
        values = np.array([r[level] for r in top][::-1], dtype=float)
        ax.barh(names, values, left=bottom, color=EXPOSURE_COLOURS[level], label=level)
        bottom += values
    ax.set_xlabel("affected patients")
    ax.set_title(f"Largest {len(top)} of {len(rows)} practices", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax2 = fig.add_subplot(1, 2, 2)
    counts = [r["patients"] for r in rows]
    if counts:
        ax2.hist(counts, bins=min(30, max(5, len(set(counts)))), color="#5d6d7e")
    ax2.set_xlabel("affected patients per practice")
    ax2.set_ylabel("practices")
    ax2.set_title("Distribution over all practices", fontsize=10)
    fig.suptitle("Affected patients per data controller (practice)")
    fig.tight_layout()
    return fig


def exposure_categories(result: ScopeResult) -> ReportFigure:
    c = result.summary["counts"]
    fig = ReportFigure(figsize=(10, 4))
    ax = fig.add_subplot(1, 2, 1)
    levels = ["listed", "opened", "copied"]
    ax.bar(levels, [c[f"exposure_{lv}"] for lv in levels], color=[EXPOSURE_COLOURS[lv] for lv in levels])
    ax.bar(["modified"], [c["patients_modified"]], color="#8e44ad")
    ax.set_ylabel("patients")
    ax.set_title("How far the attacker got (furthest per patient)", fontsize=10)
    ax2 = fig.add_subplot(1, 2, 2)
    cats = sorted(result.summary["data_categories"], key=lambda r: (r["patients"], r["category"]))
    ax2.barh([r["category"] for r in cats], [r["patients"] for r in cats], color="#5d6d7e")
    ax2.set_xlabel("patients")
    ax2.set_title("Categories of data reached", fontsize=10)
    fig.tight_layout()
    return fig


def heatmap(result: ScopeResult) -> ReportFigure:
    df = result.frames["heatmap"]
    fig = ReportFigure(figsize=(10, 4))
    for i, period in enumerate(("baseline", "breach")):
        grid = np.zeros((7, 24))
        for row in df.filter(df["period"] == period).iter_rows(named=True):
            grid[row["weekday"] - 1, row["hour"]] = row["accesses"]
        ax = fig.add_subplot(1, 2, i + 1)
        im = ax.imshow(grid, aspect="auto", cmap="Reds", interpolation="nearest")
        ax.set_yticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        ax.set_xticks(range(0, 24, 3))
        ax.set_xlabel(f"hour ({result.incident.timezone} local time)")
        ax.set_title(f"{period}", fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.04)
    fig.suptitle("When the compromised accounts touched patients: hour × weekday")
    fig.tight_layout()
    return fig


def coverage(result: ScopeResult) -> ReportFigure:
    """Events per hour per source around the breach; hours of the windows without any log in red when the same hours
    are usually active, grey when they are usually quiet; holes in a source's sequential ids in purple."""
    df = result.frames["coverage"]
    sources = sorted(set(df["source"].to_list()))
    fig = ReportFigure(figsize=(10, 1.8 + 1.4 * max(len(sources), 1)))
    gaps = result.summary["log_gaps"]
    holes = result.frames["sequence_gaps"]
    for i, source in enumerate(sources):
        ax = fig.add_subplot(len(sources), 1, i + 1)
        part = df.filter(df["source"] == source)
        ax.bar(part["hour_utc"].to_list(), part["events"].to_list(), width=1 / 24, color="#5d6d7e")
        _shade_windows(ax, result)
        for g in gaps:
            a = datetime.fromisoformat(g["start_utc"])
            b = datetime.fromisoformat(g["end_utc"])
            ax.axvspan(mdates.date2num(a), mdates.date2num(b), lw=0, alpha=0.5,
                       color="#c0392b" if g["usually_active"] else "#bdc3c7")
        mine = holes.filter(holes["source"] == source)
        for n, row in enumerate(mine.iter_rows(named=True)):
            a = datetime.fromisoformat(row["after_utc"])
            b = datetime.fromisoformat(row["before_utc"])
            ax.axvspan(mdates.date2num(a), mdates.date2num(b), lw=0, alpha=0.6, color="#8e44ad")
            ax.axvline(mdates.date2num(a + (b - a) / 2), color="#8e44ad", lw=1.2)
            if n < 4:
                ax.annotate(f"{row['missing']:,} id(s) missing", (mdates.date2num(a + (b - a) / 2), 1),
                            xycoords=("data", "axes fraction"), va="top", ha="left", fontsize=7, color="#8e44ad")
        ax.set_ylabel(source, fontsize=8)
        _time_axis(ax)
    active = sum(g["hours"] for g in gaps if g["usually_active"])
    quiet = sum(g["hours"] for g in gaps if not g["usually_active"])
    fig.suptitle(f"Log coverage: events per hour per source. Hours of the windows without any log: {active} usually "
                 f"active (red), {quiet} usually quiet (grey).\n{_sequence_line(result)}", fontsize=10)
    if fig.axes:
        fig.axes[-1].set_xlabel(_utc_label(result))
    fig.tight_layout()
    return fig


def _sequence_line(result: ScopeResult) -> str:
    checked = result.frames["sequence_sources"].filter("sequential")["source"].to_list()
    holes = result.frames["sequence_gaps"]
    if not checked:
        return "No source numbers its records with sequential ids: holes in a log cannot be counted."
    if holes.is_empty():
        return f"Sequential ids checked ({', '.join(checked)}): no id missing inside the windows."
    return (f"Sequential ids checked ({', '.join(checked)}): {int(holes['missing'].sum()):,} id(s) missing inside the "
            f"windows, in {holes.height:,} hole(s) (purple).")


FIGURES: dict[str, Callable[[ScopeResult], ReportFigure]] = {
    "account_timeline": account_timeline,
    "cumulative_patients": cumulative_patients,
    "hourly_activity": hourly_activity,
    "practices": practices,
    "exposure_categories": exposure_categories,
    "heatmap": heatmap,
    "coverage": coverage,
}


def render(fig: Figure, fmt: str) -> bytes:
    """Bytes of a figure, identical for identical inputs (no dates, no software tag, fixed SVG ids). SVG text stays
    text, so what a figure says can be searched (and checked to hold no identifier)."""
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "scoping", "svg.fonttype": "none"}):
        metadata = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
        fig.savefig(buf, format=fmt, dpi=110, metadata=metadata)
    return buf.getvalue()
