"""What a letter says about one patient, built from the pairs (which action touched which category) and the
accesses (when, and by which kind of segment), never from the unions of actions and categories.

`patient_facts` groups each patient's accesses per kind of segment with polars; `Phrasing.letter` turns one
patient's facts into sentences from the wording tables. A letter tells first what the person who had no right did
(attacker segments), then what someone we could not identify did (undetermined segments, counted as a precaution);
a sentence that does not name who did it (what the record showed, copies, changes) only ever follows one that
names the same person. Clause by clause:

- **listed**: the name was shown in search results or a list (actions `search`/`list`, or a list of patients
  viewed: the pairs whose exposure is `listed`);
- **opened**: the record itself was reached (an `opened` pair, or a copy of something other than a list of
  patients), and **seen**: the categories a viewing action touched (opened pairs of actions that change nothing);
- **copied**: `verb: categories; verb: categories`, a category under a verb only if that verb touched it (a
  patient only in an exported list is told just that, never that the record was opened);
- **modified**: each kind of item added, changed or deleted, and when; a change to a list of patients that names
  the patient (a recall list edited) is told as such, never as a change to the record;
- **also**: what someone we could not identify did to a record the person who had no right had opened (when, what
  else it showed, copies, changes);
- **outcome unknown**: the requests whose outcome the log does not give (a server error, no outcome logged) are
  counted as reached, and the letter says when they were made and that the logs do not show whether they succeeded;
- **refused**: an access that was blocked; **not opened** when the record was never reached;
- **undetermined**: the letter says why it is sent: we cannot be sure it was not the patient's practitioner or
  staff (every account behind those accesses is of the practice writing), else not the holder of the account used.

Times are written in the incident's time zone, to the minute; a local time that happens twice (the hour the
clocks go back) says which of the two it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date as Day
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from .schema import CATEGORIES, COPIED, LIST_CATEGORY, MODIFYING
from .wording import Wording

_ORDER = {c: i for i, c in enumerate(CATEGORIES)}
_ISO = "%Y-%m-%dT%H:%M:%S%.f%:z"


def instant(column: str) -> pl.Expr:
    """An ISO 8601 UTC text column (with or without sub-second digits) as an instant."""
    return pl.col(column).str.replace(r"Z$", "+00:00").str.to_datetime(_ISO, time_unit="us", time_zone="UTC")


@dataclass(frozen=True)
class Span:
    first: datetime
    last: datetime
    # the first and last of each window of the incident, when they fall in more than one (told one by one: the
    # time between two windows is never told as a time of accesses)
    parts: tuple[tuple[datetime, datetime], ...] = ()


@dataclass(frozen=True)
class Change:
    action: str
    category: str
    count: int
    span: Span


@dataclass(frozen=True)
class Acts:
    """What one kind of segment (attacker or undetermined) did to one patient's record, clause by clause."""

    span: Span  # every reached access of that kind
    listed: Span | None = None
    list_actions: tuple[str, ...] = ()
    record: Span | None = None
    seen: tuple[str, ...] = ()
    copied: Span | None = None
    copies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # copy verb → categories it touched
    changes: tuple[Change, ...] = ()
    unsure: Span | None = None  # the reached accesses whose outcome the log does not give (counted as a precaution)


@dataclass(frozen=True)
class Facts:
    """What the logs show about one patient: what each kind of segment did, and the blocked accesses."""

    attacker: Acts | None = None
    undetermined: Acts | None = None
    refused: Span | None = None
    refused_attacker: Span | None = None        # the blocked accesses of the person who had no right
    refused_undetermined: Span | None = None    # those of segments we could not attribute
    doubt: frozenset[str] = frozenset()  # practices of the accounts behind undetermined accesses ("" unknown)


def sorted_categories(codes: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(codes), key=lambda c: (_ORDER.get(c, len(_ORDER)), c)))


def _span(d: Mapping[str, Any], name: str) -> Span | None:
    return Span(d[f"{name}_min"], d[f"{name}_max"]) if d[f"{name}_min"] is not None else None


def _acts(d: Mapping[str, Any] | None) -> Acts | None:
    """One kind of segment's acts from its aggregated row (lists already in the letter's order)."""
    if d is None:
        return None
    copies = {c["action"]: tuple(c["categories"]) for c in d["copies"] or ()}
    changes = tuple(Change(c["action"], c["category"], int(c["n"]), Span(c["first"], c["last"]))
                    for c in d["changes"] or ())
    return Acts(span=Span(d["t_min"], d["t_max"]), listed=_span(d, "listed"), list_actions=tuple(d["list_actions"]),
                record=_span(d, "record"), seen=tuple(d["seen"]), copied=_span(d, "copied"),
                copies={v: copies[v] for v in COPIED if v in copies}, changes=changes, unsure=_span(d, "unsure"))


def patient_facts(pairs: pl.DataFrame, accesses: pl.DataFrame, accounts: pl.DataFrame,
                  windows: Sequence[tuple[datetime, datetime]] = ()) -> dict[str, Facts]:
    """Facts of every patient of the accesses (the same under each of its practices), grouped with polars: each
    reached access takes the exposure of its pair (which action touched which category), and is told under the
    kind of segment that made it; `accounts` gives the practice of each account. With several `windows`
    (UTC start, end), a span whose accesses fall in more than one is told window by window (`Span.parts`)."""
    whole = _grouped_facts(pairs, accesses, accounts)
    if len(windows) < 2:
        return whole
    t = instant("ts_utc")
    per_window = [_grouped_facts(pairs, accesses.filter((t >= start) & (t < end)), accounts) for start, end in windows]
    return {p: _parted(f, [w.get(p) for w in per_window]) for p, f in whole.items()}


def _parts(span: Span | None, in_windows: list[Span | None]) -> Span | None:
    found = tuple((s.first, s.last) for s in in_windows if s is not None)
    return replace(span, parts=found) if span is not None and len(found) > 1 else span


def _parted_acts(acts: Acts | None, in_windows: list[Acts | None]) -> Acts | None:
    if acts is None:
        return None
    ws = [w for w in in_windows if w is not None]

    def change(c: Change) -> Change:
        same = [next((d.span for d in w.changes if (d.action, d.category) == (c.action, c.category)), None)
                for w in ws]
        return replace(c, span=_parts(c.span, same) or c.span)

    return replace(acts, span=_parts(acts.span, [w.span for w in ws]) or acts.span,
                   listed=_parts(acts.listed, [w.listed for w in ws]),
                   record=_parts(acts.record, [w.record for w in ws]),
                   copied=_parts(acts.copied, [w.copied for w in ws]),
                   unsure=_parts(acts.unsure, [w.unsure for w in ws]),
                   changes=tuple(change(c) for c in acts.changes))


def _parted(f: Facts, in_windows: list[Facts | None]) -> Facts:
    """`f` with each span's part in every window (the facts of each window: None where it has no access)."""
    ws = [w for w in in_windows if w is not None]
    return replace(f, attacker=_parted_acts(f.attacker, [w.attacker for w in ws]),
                   undetermined=_parted_acts(f.undetermined, [w.undetermined for w in ws]),
                   refused=_parts(f.refused, [w.refused for w in ws]),
                   refused_attacker=_parts(f.refused_attacker, [w.refused_attacker for w in ws]),
                   refused_undetermined=_parts(f.refused_undetermined, [w.refused_undetermined for w in ws]))


def _grouped_facts(pairs: pl.DataFrame, accesses: pl.DataFrame, accounts: pl.DataFrame) -> dict[str, Facts]:
    exposure = pairs.unique(["patient_id", "action", "category"]).select("patient_id", "action", "category",
                                                                         "exposure")
    owners = accounts.select("account_id", pl.col("practice_id").cast(pl.String).alias("account_practice"))
    a = (accesses.filter(pl.col("patient_id").is_not_null()).unique(["patient_id", "event_key"])
         .with_columns(instant("ts_utc").alias("t"), (pl.col("verdict") == "attacker").alias("attacker"))
         .join(owners, on="account_id", how="left"))
    rank = pl.col("category").replace_strict(_ORDER, default=len(_ORDER), return_dtype=pl.Int32)
    reached = (a.filter(pl.col("reached")).join(exposure, on=["patient_id", "action", "category"], how="inner")
               .sort(rank, "category", "action", "t"))  # every list below comes in the letter's order
    copy = pl.col("exposure") == "copied"
    listed = pl.col("exposure") == "listed"
    record = (pl.col("exposure") == "opened") | (copy & (pl.col("category") != LIST_CATEGORY))
    seen = (pl.col("exposure") == "opened") & ~pl.col("action").is_in(list(MODIFYING))
    unsure = pl.col("outcome") == "unknown"
    t = pl.col("t")
    # a change of the record, or of a list of patients that names the patient (not a change of the record: the
    # accesses do not count it as modifying, and the letter tells it as a list changed)
    changed = pl.col("modifies") | (pl.col("action").is_in(list(MODIFYING)) & (pl.col("category") == LIST_CATEGORY))
    changes = (reached.filter(changed).group_by("patient_id", "attacker", "action", "category")
               .agg(pl.len().alias("n"), t.min().alias("first"), t.max().alias("last"))
               .sort("first", "action", "category")
               .group_by("patient_id", "attacker").agg(pl.struct("action", "category", "n", "first", "last")
                                                       .alias("changes")))
    copies = (reached.filter(copy).group_by("patient_id", "attacker", "action", maintain_order=True)
              .agg(pl.col("category").unique(maintain_order=True).alias("categories"))
              .group_by("patient_id", "attacker").agg(pl.struct("action", "categories").alias("copies")))
    acts = reached.group_by("patient_id", "attacker").agg(
        t.min().alias("t_min"), t.max().alias("t_max"),
        *[getattr(t.filter(cond), f)().alias(f"{name}_{f}") for name, cond in
          (("listed", listed), ("record", record), ("copied", copy), ("unsure", unsure)) for f in ("min", "max")],
        pl.col("action").filter(listed).unique().sort().alias("list_actions"),
        pl.col("category").filter(seen).unique(maintain_order=True).alias("seen"),
        pl.col("account_practice").filter(~pl.col("attacker")).fill_null("").unique().alias("doubt"),
    ).join(changes, on=["patient_id", "attacker"], how="left").join(copies, on=["patient_id", "attacker"], how="left")
    fields = pl.exclude("patient_id", "attacker", "doubt")
    att = pl.col("attacker")
    refused = a.filter(~pl.col("reached")).group_by("patient_id").agg(
        t.min().alias("refused_min"), t.max().alias("refused_max"),
        t.filter(att).min().alias("refused_attacker_min"), t.filter(att).max().alias("refused_attacker_max"),
        t.filter(~att).min().alias("refused_undetermined_min"), t.filter(~att).max().alias("refused_undetermined_max"))
    grouped = (a.select("patient_id").unique()
               .join(acts.filter(pl.col("attacker")).select("patient_id", pl.struct(fields).alias("att")),
                     on="patient_id", how="left")
               .join(acts.filter(~pl.col("attacker")).select("patient_id", pl.struct(fields).alias("und"), "doubt"),
                     on="patient_id", how="left")
               .join(refused, on="patient_id", how="left").sort("patient_id"))
    facts: dict[str, Facts] = {}
    for row in grouped.iter_rows(named=True):  # one iteration per patient: the facts its letter tells
        facts[row["patient_id"]] = Facts(
            attacker=_acts(row["att"]), undetermined=_acts(row["und"]), refused=_span(row, "refused"),
            refused_attacker=_span(row, "refused_attacker"), refused_undetermined=_span(row, "refused_undetermined"),
            doubt=frozenset(row["doubt"] or ()))
    return facts


def _offset(delta: timedelta | None) -> str:
    """+1, -3, +5:30: an offset from UTC as a clock would show it."""
    minutes = int((delta or timedelta()).total_seconds() // 60)
    hours, rest = divmod(abs(minutes), 60)
    return ("-" if minutes < 0 else "+") + str(hours) + (f":{rest:02d}" if rest else "")


@dataclass(frozen=True)
class Phrasing:
    """Sentences in one language and one time zone."""

    words: Wording
    tz: str
    _stamps: dict[datetime, tuple[Day, str, str, bool, str]] = field(default_factory=dict, init=False, repr=False,
                                                             compare=False)

    @property
    def zone(self) -> str:
        return self.tz.split("/")[-1].replace("_", " ")

    def _text(self, table: str, key: str, **values: Any) -> str:
        return self.words.text(table, key, **values)

    def local(self, t: datetime) -> datetime:
        return t.astimezone(ZoneInfo(self.tz))

    def date(self, t: datetime) -> str:
        months = self.words.tables["time"]["months"]
        day = str(self.words.tables["time"]["first_day"]) if t.day == 1 else str(t.day)
        return self._text("time", "date", day=day, month=months[t.month - 1], year=t.year)

    def happens_twice(self, t: datetime) -> bool:
        """Whether the local time `t` shows happens twice (the hour the clocks go back)."""
        if t.tzinfo is None:
            return False
        naive, zone = t.replace(tzinfo=None), ZoneInfo(self.tz)
        return len({naive.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1)}) == 2

    def clock(self, t: datetime, *, explicit: bool = False) -> str:
        """A local time to the minute; one that happens twice (the hour the clocks go back) says which it is, and
        in which zone; so does every time of a phrase that holds one (`explicit`): that phrase leaves out its own
        zone (its `_dst` form), and each of its times carries its own offset."""
        text = self._text("time", "clock", hour=t.hour, minute=t.minute, second=t.second)
        if t.tzinfo is None or not (explicit or self.happens_twice(t)):
            return text
        season = "summer_time" if t.dst() else "winter_time"
        return self._text("time", "ambiguous", clock=text, season=self._text("time", season),
                          offset=_offset(t.utcoffset()), zone=self.zone)

    def _stamp(self, t: datetime) -> tuple[Day, str, str, bool, str]:
        """An instant's local day, date in words, clock, whether that clock happens twice, and the clock with its
        zone and offset (kept: the letters of a kit share their times)."""
        key = t.replace(microsecond=0)
        found = self._stamps.get(key)
        if found is None:
            a = self.local(key)
            found = self._stamps[key] = (a.date(), self.date(a), self.clock(a), self.happens_twice(a),
                                         self.clock(a, explicit=True))
        return found

    def _time(self, key: str, twice: bool, **values: Any) -> str:
        """A time phrase; with a time that happens twice, its `_dst` form (each time says its zone), when the
        wording has one (`wording.DST_FORMS`)."""
        if twice and self.has_dst_form("time", key):
            return self._text("time", f"{key}_dst", **values)
        return self._text("time", key, zone=self.zone, **values)

    def has_dst_form(self, table: str, key: str) -> bool:
        return f"{key}_dst" in self.words.tables.get(table, {})

    def moment(self, t: datetime) -> str:
        _, day, clock, twice, _ = self._stamp(t)
        return self._time("one_moment", twice, date=day, start=clock)

    def when(self, first: datetime, last: datetime) -> str:
        """From first to last; when either time happens twice, both say their zone and offset (one would else be
        read with the other's)."""
        (a, day_a, clock_a, twice_a, full_a), (b, day_b, clock_b, twice_b, full_b) = self._stamp(first), \
            self._stamp(last)
        twice = twice_a or twice_b
        start, end = (full_a, full_b) if twice else (clock_a, clock_b)
        if a != b:
            return self._time("two_days", twice, date=day_a, start=start, end_date=day_b, end=end)
        if clock_a == clock_b and full_a == full_b:
            return self.moment(first)
        return self._time("same_day", twice, date=day_a, start=start, end=end)

    def span(self, s: Span) -> str:
        """When a span's accesses took place: window by window when they fall in several."""
        if len(s.parts) > 1:
            return self.join([self.when(a, b) for a, b in s.parts])
        return self.when(s.first, s.last)

    def join(self, items: list[str]) -> str:
        g = self.words.tables["grammar"]
        if len(items) <= 1:
            return "".join(items)
        return str(g["list_separator"]).join(items[:-1]) + str(g["last_separator"]) + items[-1]

    def number(self, n: int) -> str:
        return f"{n:,}".replace(",", str(self.words.tables["grammar"]["thousands"]))

    def categories(self, codes: tuple[str, ...], table: str = "categories") -> str:
        return self.join([self.words.label(table, c) for c in codes])

    def letter(self, f: Facts, *, practice: str | None = None) -> str:
        """The sentences that say what happened to one patient's record, in the letter of `practice`."""
        parts: list[str] = []
        att, und = f.attacker, f.undetermined
        if att is not None:
            parts += self._told(att, "attacker")
        if und is not None:
            parts += self._also(und, att) if att is not None and att.record else self._told(und, "undetermined")
        if f.refused:
            parts.append(self._text("letter", "refused", when=self.span(f.refused)))
        if not any(a.record for a in (att, und) if a is not None):
            parts.append(self._text("letter", "not_opened"))
        if und is not None:
            own = practice is not None and f.doubt == {practice}
            parts.append(self._text("letter", "undetermined" if own else "undetermined_other"))
        return " ".join(parts)

    def _copies(self, copies: Mapping[str, tuple[str, ...]]) -> str:
        sep = str(self.words.tables["grammar"]["item_separator"])
        return sep.join(self._text("letter", "copy", verb=self.words.label("copy_verbs", verb),
                                   categories=self.categories(cats)) for verb, cats in copies.items())

    def _changes(self, changes: tuple[Change, ...]) -> str:
        return str(self.words.tables["grammar"]["item_separator"]).join(self._change(c) for c in changes)

    def _told(self, a: Acts, kind: str) -> list[str]:
        """What one kind of segment did, each sentence naming it or following one that does."""
        who = self.words.label("who", kind)
        parts: list[str] = []
        if a.listed:
            kinds = ["search" if x == "search" else "list" for x in a.list_actions]
            lists = self.join([self.words.label("lists", k) for k in dict.fromkeys(sorted(kinds, reverse=True))])
            parts.append(self._text("letter", "listed", when=self.span(a.listed), who=who, lists=lists))
        opened = None
        if a.record:
            opened = self.span(a.record)
            parts.append(self._text("letter", "opened", when=opened, who=who))
            if a.seen:
                parts.append(self._text("letter", "seen", categories=self.categories(a.seen)))
        if a.copied and a.copies:
            when = self.span(a.copied)
            if opened is not None:
                parts.append(self._text("letter", "copied", copies=self._copies(a.copies),
                                        when=self._text("time", "same_time") if when == opened else when))
            else:
                parts.append(self._text("letter", "copied_alone", when=when, who=who, copies=self._copies(a.copies)))
        parts += self._modified(a.changes, "modified")
        if a.unsure:
            parts.append(self._text("letter", "outcome_unknown", when=self.span(a.unsure)))
        return parts

    def _modified(self, changes: tuple[Change, ...], key: str) -> list[str]:
        """Changes to the record (`key`: modified, also_modified), then changes to a list of patients that names
        the patient (a recall list edited, a bulk reassignment): those never say the record itself was changed."""
        record = tuple(c for c in changes if c.category != LIST_CATEGORY)
        lists = tuple(c for c in changes if c.category == LIST_CATEGORY)
        parts = [self._text("letter", key, changes=self._changes(record))] if record else []
        if lists:
            parts.append(self._text("letter", "list_modified", changes=self._changes(lists)))
        return parts

    def _also(self, und: Acts, att: Acts) -> list[str]:
        """What someone we could not identify did to a record the person who had no right also opened."""
        when = self.span(und.span)
        parts = [self._text("letter", "also_undetermined", when=when, who=self.words.label("who", "undetermined"))]
        if und.seen:  # all it showed, the intruder's categories included: the letter says each kind's own acts
            parts.append(self._text("letter", "also_seen", categories=self.categories(und.seen)))
        if und.copied and und.copies:
            copied = self.span(und.copied)
            parts.append(self._text("letter", "also_copied", copies=self._copies(und.copies),
                                    when=self._text("time", "same_time") if copied == when else copied))
        parts += self._modified(und.changes, "also_modified")
        if und.unsure:
            parts.append(self._text("letter", "outcome_unknown", when=self.span(und.unsure)))
        return parts

    def _change(self, c: Change) -> str:
        verb = self.words.label("change_verbs", c.action)
        item = self.words.label("items", c.category)
        if c.count == 1:
            return self._text("letter", "change", verb=verb, item=item, when=self.moment(c.span.first))
        return self._text("letter", "change_many", verb=verb, item=item, count=self.number(c.count),
                          when=self.span(c.span))

    def attempts(self, f: Facts) -> str:
        """A patient only attempted: the person who had no right's attempts, then, apart, those of segments we could
        not attribute (never told as the intruder's)."""
        parts = [self.attempted(s, by_attacker=kind) for s, kind in
                 ((f.refused_attacker, True), (f.refused_undetermined, False)) if s is not None]
        return " ".join(parts)

    def attempted(self, s: Span, *, by_attacker: bool = True) -> str:
        """A patient only attempted: by the person who had no right, or only by someone we could not identify."""
        key = "attempted" if by_attacker else "attempted_undetermined"
        return self._text("letter", key, when=self.span(s))
