"""What a letter says about one patient, built from the pairs (which action touched which category), never from
the unions of actions and categories.

`patient_facts` groups the pairs and refused accesses per patient with polars; `Phrasing.letter` turns one
patient's facts into sentences from the wording tables, in this order:

- **listed**: the name was shown in search results or a list (actions `search`/`list`, or a list of patients
  viewed: the pairs whose exposure is `listed`);
- **opened**: the record itself was reached (an `opened` pair, or a copy of something other than a list of
  patients), and **seen**: the categories a viewing action touched (opened pairs of actions that change nothing);
- **copied**: `verb: categories; verb: categories`, a category under a verb only if that verb touched it (a
  patient only in an exported list is told just that, never that the record was opened);
- **modified**: each kind of item added, changed or deleted, and when;
- **refused**: an access that was blocked; **not opened** when the record was never reached;
- **undetermined**: when a clause rests only on segments that could not be attributed with certainty (counted
  as a precaution), the clause names "someone we could not identify" and the letter says why it is sent.

Times are written in the incident's time zone, to the minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
    attacker: bool  # at least one access of an attacker segment (else only undetermined ones)


@dataclass(frozen=True)
class Change:
    action: str
    category: str
    count: int
    span: Span


@dataclass(frozen=True)
class Facts:
    """What the logs show about one patient, clause by clause."""

    listed: Span | None = None
    list_actions: tuple[str, ...] = ()
    record: Span | None = None
    seen: tuple[str, ...] = ()
    copied: Span | None = None
    copies: dict[str, tuple[str, ...]] = field(default_factory=dict)  # copy verb → categories it touched
    changes: tuple[Change, ...] = ()
    refused: Span | None = None
    also: Span | None = None  # undetermined accesses within clauses an attacker segment also reached


def sorted_categories(codes: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(codes), key=lambda c: (_ORDER.get(c, len(_ORDER)), c)))


_CLAUSES = ("listed", "record", "copied")


def _when_and_who(pairs: pl.DataFrame, accesses: pl.DataFrame) -> pl.DataFrame:
    """Per patient, the first and last access of each clause, apart for attacker and undetermined segments. Each
    reached access takes the exposure of its pair (the same for every access of a pair)."""
    exposure = pairs.select("patient_id", "action", "category", "exposure")
    a = (accesses.filter(pl.col("patient_id").is_not_null()).unique(["patient_id", "event_key"])
         .with_columns(instant("ts_utc").alias("t"), (pl.col("verdict") == "attacker").alias("attacker")))
    reached = a.filter(pl.col("reached")).join(exposure, on=["patient_id", "action", "category"], how="inner")
    copy = pl.col("exposure") == "copied"
    clause = {"listed": pl.col("exposure") == "listed", "copied": copy,
              "record": (pl.col("exposure") == "opened") | (copy & (pl.col("category") != LIST_CATEGORY))}
    spans = [getattr(pl.col("t").filter(cond & (pl.col("attacker") == attacker)), f)().alias(f"{name}_{who}_{f}")
             for name, cond in clause.items() for who, attacker in (("attacker", True), ("undetermined", False))
             for f in ("min", "max")]
    refused = a.filter(~pl.col("reached")).group_by("patient_id").agg(
        pl.col("t").min().alias("refused_min"), pl.col("t").max().alias("refused_max"),
        pl.col("attacker").any().alias("refused_attacker"))
    return reached.group_by("patient_id").agg(spans).join(refused, on="patient_id", how="full", coalesce=True)


def _spans(row: dict[str, Any]) -> tuple[dict[str, Span | None], Span | None]:
    """Each clause's span (the attacker's accesses when there are some, else the undetermined ones), and the
    undetermined accesses left out of clauses the attacker also reached."""
    out: dict[str, Span | None] = {}
    also: list[datetime] = []
    for name in _CLAUSES:
        att, und = row.get(f"{name}_attacker_min"), row.get(f"{name}_undetermined_min")
        if att is not None:
            out[name] = Span(att, row[f"{name}_attacker_max"], True)
            if und is not None:
                also += [und, row[f"{name}_undetermined_max"]]
        else:
            out[name] = Span(und, row[f"{name}_undetermined_max"], False) if und is not None else None
    refused = row.get("refused_min")
    out["refused"] = Span(refused, row["refused_max"], bool(row["refused_attacker"])) if refused else None
    return out, (Span(min(also), max(also), False) if also else None)


def patient_facts(pairs: pl.DataFrame, accesses: pl.DataFrame) -> dict[str, Facts]:
    """Facts of every patient of the pairs (the same under each of its practices), grouped with polars: what was
    touched comes from the pairs, when and by which kind of segment from the accesses."""
    p = pairs.unique(["patient_id", "action", "category"]).with_columns(
        instant("first_access_utc").alias("first"), instant("last_access_utc").alias("last"),
        (pl.col("attribution") == "attacker").alias("attacker"))
    listed = pl.col("exposure") == "listed"
    copy = pl.col("exposure") == "copied"
    seen = (pl.col("exposure") == "opened") & ~pl.col("action").is_in(list(MODIFYING))
    what = p.group_by("patient_id").agg(
        pl.col("action").filter(listed).unique().sort().alias("list_actions"),
        pl.col("category").filter(seen).alias("seen"),
        pl.struct("action", "category").filter(copy).alias("copies"),
        pl.struct("action", "category", "n_accesses", "first", "last", "attacker")
        .filter(pl.col("modifies")).alias("changes"))
    grouped = what.join(_when_and_who(p, accesses), on="patient_id", how="left").sort("patient_id")
    facts: dict[str, Facts] = {}
    for row in grouped.iter_rows(named=True):  # one iteration per patient: the sentences of its letter
        copies: dict[str, list[str]] = {}
        for c in row["copies"]:
            copies.setdefault(c["action"], []).append(c["category"])
        changes = sorted((Change(c["action"], c["category"], int(c["n_accesses"]),
                                 Span(c["first"], c["last"], bool(c["attacker"]))) for c in row["changes"]),
                         key=lambda c: (c.span.first, c.action, c.category))
        spans, also = _spans(row)
        facts[row["patient_id"]] = Facts(
            listed=spans["listed"], list_actions=tuple(row["list_actions"]), record=spans["record"],
            seen=sorted_categories(row["seen"]), copied=spans["copied"],
            copies={v: sorted_categories(copies[v]) for v in COPIED if v in copies},
            changes=tuple(changes), refused=spans["refused"], also=also)
    return facts


@dataclass(frozen=True)
class Phrasing:
    """Sentences in one language and one time zone."""

    words: Wording
    tz: str

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

    def clock(self, t: datetime) -> str:
        return self._text("time", "clock", hour=t.hour, minute=t.minute, second=t.second)

    def moment(self, t: datetime) -> str:
        a = self.local(t)
        return self._text("time", "one_moment", date=self.date(a), start=self.clock(a), zone=self.zone)

    def when(self, first: datetime, last: datetime) -> str:
        a, b = self.local(first), self.local(last)
        if a.date() != b.date():
            return self._text("time", "two_days", date=self.date(a), start=self.clock(a), end_date=self.date(b),
                              end=self.clock(b), zone=self.zone)
        if self.clock(a) == self.clock(b):
            return self.moment(first)
        return self._text("time", "same_day", date=self.date(a), start=self.clock(a), end=self.clock(b),
                          zone=self.zone)

    def join(self, items: list[str]) -> str:
        g = self.words.tables["grammar"]
        if len(items) <= 1:
            return "".join(items)
        return str(g["list_separator"]).join(items[:-1]) + str(g["last_separator"]) + items[-1]

    def number(self, n: int) -> str:
        return f"{n:,}".replace(",", str(self.words.tables["grammar"]["thousands"]))

    def categories(self, codes: tuple[str, ...], table: str = "categories") -> str:
        return self.join([self.words.label(table, c) for c in codes])

    def _who(self, span: Span) -> str:
        return self.words.label("who", "attacker" if span.attacker else "undetermined")

    def letter(self, f: Facts) -> str:
        """The sentences that say what happened to one patient's record."""
        parts: list[str] = []
        spans = [s for s in (f.listed, f.record, f.copied, f.also, *(c.span for c in f.changes)) if s]
        if f.listed:
            kinds = ["search" if a == "search" else "list" for a in f.list_actions]
            lists = self.join([self.words.label("lists", k) for k in dict.fromkeys(sorted(kinds, reverse=True))])
            parts.append(self._text("letter", "listed", when=self.when(f.listed.first, f.listed.last),
                                    who=self._who(f.listed), lists=lists))
        opened_when = None
        if f.record:
            opened_when = self.when(f.record.first, f.record.last)
            parts.append(self._text("letter", "opened", when=opened_when, who=self._who(f.record)))
            if f.seen:
                parts.append(self._text("letter", "seen", categories=self.categories(f.seen)))
        if f.copied and f.copies:
            sep = str(self.words.tables["grammar"]["item_separator"])
            copies = sep.join(self._text("letter", "copy", verb=self.words.label("copy_verbs", verb),
                                         categories=self.categories(cats)) for verb, cats in f.copies.items())
            when = self.when(f.copied.first, f.copied.last)
            if f.record:
                same = when == opened_when
                parts.append(self._text("letter", "copied", copies=copies,
                                        when=self._text("time", "same_time") if same else when))
            else:
                parts.append(self._text("letter", "copied_alone", when=when, who=self._who(f.copied), copies=copies))
        if f.also:
            parts.append(self._text("letter", "also_undetermined", when=self.when(f.also.first, f.also.last),
                                    who=self._who(f.also)))
        if f.changes:
            sep = str(self.words.tables["grammar"]["item_separator"])
            parts.append(self._text("letter", "modified", changes=sep.join(self._change(c) for c in f.changes)))
        if f.refused:
            parts.append(self._text("letter", "refused", when=self.when(f.refused.first, f.refused.last)))
        if not f.record:
            parts.append(self._text("letter", "not_opened"))
        if any(not s.attacker for s in spans):
            parts.append(self._text("letter", "undetermined"))
        return " ".join(parts)

    def _change(self, c: Change) -> str:
        verb = self.words.label("change_verbs", c.action)
        item = self.words.label("items", c.category)
        if c.count == 1:
            return self._text("letter", "change", verb=verb, item=item, when=self.moment(c.span.first))
        return self._text("letter", "change_many", verb=verb, item=item, count=self.number(c.count),
                          when=self.when(c.span.first, c.span.last))

    def attempted(self, first: datetime, last: datetime) -> str:
        return self._text("letter", "attempted", when=self.when(first, last))
