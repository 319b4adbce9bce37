"""The incident definition: breach windows, compromised accounts and indicators.

Windows are written in a named time zone and stored in UTC, half-open [start, end). A local time
that a daylight-saving change makes ambiguous or impossible is refused: write it with an offset.
Address ranges and user-agent patterns are matched in Python against the few distinct values of the
compromised accounts' sessions (DuckDB's inet extension is not available offline) and bound as lists.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import ipaddress
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .config import check_timezone
from .errors import ConfigError
from .schema import DECISIONS


@dataclass(frozen=True)
class Window:
    start: datetime  # UTC
    end: datetime  # UTC, exclusive

    def local(self, tz: str) -> tuple[str, str]:
        z = ZoneInfo(tz)
        return self.start.astimezone(z).isoformat(), self.end.astimezone(z).isoformat()


@dataclass(frozen=True)
class Decision:
    """An analyst's ruling on one segment (or on every segment of one session), with its justification: it overrules
    the rules' verdict, and the report, sessions.csv and the manifest carry it."""

    key: str            # a segment key ("log:abc/1f2e3d4c") or a session key ("log:abc"), as sessions.csv shows
    verdict: str        # attacker | owner | undetermined
    justification: str
    by: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "verdict": self.verdict, "justification": self.justification, "by": self.by}


@dataclass(frozen=True)
class Incident:
    name: str
    timezone: str
    windows: tuple[Window, ...]
    compromised_accounts: tuple[str, ...]
    ips: tuple[str, ...] = ()
    user_agents: tuple[str, ...] = ()
    count_undetermined: bool = True
    baseline_days: int = 90
    usual_min_days: int = 2
    containment: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    decisions: tuple[Decision, ...] = ()

    @property
    def start(self) -> datetime:
        return min(w.start for w in self.windows)

    @property
    def end(self) -> datetime:
        return max(w.end for w in self.windows)

    def with_windows(self, windows: tuple[Window, ...]) -> Incident:
        return dataclasses.replace(self, windows=windows)

    def without_account(self, account: str) -> Incident:
        return dataclasses.replace(self, compromised_accounts=tuple(a for a in self.compromised_accounts
                                                                    if a != account))

    def with_decision(self, key: str, verdict: str, justification: str, *, by: str = "") -> Incident:
        """The same incident with one more analyst decision (the notebook's way of ruling on a segment)."""
        return dataclasses.replace(self, decisions=(*self.decisions, _decision(
            {"segment": key, "verdict": verdict, "justification": justification, "by": by}, "decision")))

    def parameters(self) -> dict[str, Any]:
        """The incident as plain values, for the manifest and summary."""
        return {
            "name": self.name,
            "timezone": self.timezone,
            "windows_utc": [[_iso(w.start), _iso(w.end)] for w in self.windows],
            "windows_local": [list(w.local(self.timezone)) for w in self.windows],
            "compromised_accounts": list(self.compromised_accounts),
            "indicators": {"ips": list(self.ips), "user_agents": list(self.user_agents)},
            "count_undetermined": self.count_undetermined,
            "baseline_days": self.baseline_days,
            "usual_min_days": self.usual_min_days,
            "containment_utc": _iso(self.containment) if self.containment else None,
            "decisions": [d.as_dict() for d in self.decisions],
        }

    @classmethod
    def from_parameters(cls, p: dict[str, Any]) -> Incident:
        """The incident a run recorded (`parameters()`), as it was."""
        def utc(text: str) -> datetime:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)

        return cls(name=p["name"], timezone=p["timezone"],
                   windows=tuple(Window(utc(a), utc(b)) for a, b in p["windows_utc"]),
                   compromised_accounts=tuple(p["compromised_accounts"]),
                   ips=tuple(p["indicators"]["ips"]), user_agents=tuple(p["indicators"]["user_agents"]),
                   count_undetermined=bool(p["count_undetermined"]), baseline_days=int(p["baseline_days"]),
                   usual_min_days=int(p.get("usual_min_days", 1)),  # runs recorded before the rule: any one day
                   containment=utc(p["containment_utc"]) if p.get("containment_utc") else None,
                   decisions=tuple(Decision(**d) for d in p.get("decisions", [])))

    def digest(self) -> str:
        """SHA-256 of the incident as defined, to tell when it changed; whether undetermined segments count is an
        option of each run (`scope --exclude-undetermined`), so it is left out."""
        defined = {k: v for k, v in self.parameters().items() if k != "count_undetermined"}
        return hashlib.sha256(json.dumps(defined, sort_keys=True).encode()).hexdigest()

    def matching_ips(self, values: list[str]) -> list[str]:
        """The logged addresses an indicator names (a port, brackets or an IPv4-mapped IPv6 spelling aside)."""
        nets = [ipaddress.ip_network(n, strict=False) for n in self.ips]
        out = []
        for v in values:
            addr = parse_address(v)
            if addr is not None and any(addr.version == n.version and addr in n for n in nets):
                out.append(v)
        return out

    def matching_clients(self, values: list[str]) -> list[str]:
        return [v for v in values if any(fnmatch.fnmatchcase(v, p) for p in self.user_agents)]


_PORTED_V4 = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}")
_BRACKETED_V6 = re.compile(r"\[([0-9a-fA-F:.%\w]+)\](?::\d{1,5})?")


def parse_address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as logged (spaces, a port, brackets, an IPv4-mapped IPv6 spelling), or None if it is none."""
    text = value.strip()
    m = _BRACKETED_V6.fullmatch(text) or _PORTED_V4.fullmatch(text)
    if m:
        text = m.group(1)
    try:
        addr = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def address_key(value: str) -> str:
    """The network key an address is compared under: IPv4 itself, IPv6 its /64 (a host's privacy addresses change
    inside it); a value that is not an address is its own key."""
    addr = parse_address(value)
    if addr is None:
        return value.strip().lower()
    if addr.version == 6:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: Any, tz: str, where: str) -> datetime:
    """A window bound: ISO 8601 with an offset, or local wall time in `tz` (refused if DST makes it unclear)."""
    if isinstance(text, datetime):
        value = text
    elif isinstance(text, str):
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ConfigError(f"{where}: {text!r} is not a date and time",
                              hint="write it as \"2025-11-10 18:00\" (local) or with an offset") from exc
    else:
        raise ConfigError(f"{where}: {text!r} is not a date and time")
    if value.tzinfo is not None:
        return value.astimezone(UTC)
    z = ZoneInfo(tz)
    a, b = value.replace(tzinfo=z, fold=0), value.replace(tzinfo=z, fold=1)
    if a.utcoffset() != b.utcoffset():
        raise ConfigError(f"{where}: {text!r} happens twice in {tz} (clocks go back that night)",
                          hint="write the bound with its UTC offset, e.g. 2025-10-26T02:30:00+01:00")
    roundtrip = a.astimezone(UTC).astimezone(z).replace(tzinfo=None)
    if roundtrip != value:
        raise ConfigError(f"{where}: {text!r} does not exist in {tz} (clocks go forward that night)",
                          hint="write the bound with its UTC offset")
    return a.astimezone(UTC)


def parse_incident(raw: dict[str, Any], *, where: str = "[incident]") -> Incident:
    if not raw:
        raise ConfigError(f"{where} is missing", hint="define windows and compromised_accounts, "
                          "or run `scoping discover CASE` and review out/proposed_incident.toml")
    tz = raw.get("timezone")
    if not isinstance(tz, str):
        raise ConfigError(f"{where}.timezone is missing", hint="name the zone the windows are written in, "
                          "e.g. timezone = \"Europe/Paris\"")
    check_timezone(tz, f"{where}.timezone")
    windows_raw = raw.get("windows")
    if not isinstance(windows_raw, list) or not windows_raw:
        raise ConfigError(f"{where}.windows must list at least one [start, end] pair")
    windows = []
    for i, w in enumerate(windows_raw, start=1):
        if not isinstance(w, list) or len(w) != 2:
            raise ConfigError(f"{where}.windows[{i}] must be a pair [start, end]")
        start = parse_time(w[0], tz, f"{where}.windows[{i}] start")
        end = parse_time(w[1], tz, f"{where}.windows[{i}] end")
        if end <= start:
            raise ConfigError(f"{where}.windows[{i}]: the end {w[1]!r} is not after the start {w[0]!r}")
        windows.append(Window(start, end))
    windows.sort(key=lambda w: (w.start, w.end))
    for a, b in itertools.pairwise(windows):
        if b.start < a.end:
            raise ConfigError(f"{where}.windows overlap ({_iso(a.start)}–{_iso(a.end)} and "
                              f"{_iso(b.start)}–{_iso(b.end)})", hint="merge them into one window")
    accounts = raw.get("compromised_accounts", [])
    if not isinstance(accounts, list) or not all(isinstance(a, str) and a for a in accounts):
        raise ConfigError(f"{where}.compromised_accounts must be a list of account ids")
    if not accounts:
        raise ConfigError(f"{where}.compromised_accounts is empty",
                          hint="name at least one account; `scoping discover` proposes candidates")
    ind = raw.get("indicators", {}) or {}
    ips = ind.get("ips", [])
    for ip in ips:
        try:
            ipaddress.ip_network(str(ip), strict=False)
        except ValueError as exc:
            raise ConfigError(f"{where}.indicators.ips: {ip!r} is not an address or CIDR range") from exc
    uas = ind.get("user_agents", [])
    if not all(isinstance(u, str) for u in uas):
        raise ConfigError(f"{where}.indicators.user_agents must be strings (glob patterns)")
    count_undetermined = raw.get("count_undetermined", True)
    if not isinstance(count_undetermined, bool):
        raise ConfigError(f"{where}.count_undetermined must be true or false")
    baseline_days = raw.get("baseline_days", 90)
    if not isinstance(baseline_days, int) or baseline_days < 1:
        raise ConfigError(f"{where}.baseline_days must be a positive whole number")
    usual_min_days = raw.get("usual_min_days", min(2, baseline_days))
    if (not isinstance(usual_min_days, int) or isinstance(usual_min_days, bool)
            or not 1 <= usual_min_days <= baseline_days):
        raise ConfigError(f"{where}.usual_min_days must be a whole number from 1 to baseline_days ({baseline_days})",
                          hint="the number of different days of its baseline on which an account must have used an "
                               "address or a client for it to be usual (default 2)")
    containment = raw.get("containment")
    decisions_raw = raw.get("decisions", [])
    if not isinstance(decisions_raw, list):
        raise ConfigError(f"{where}.decisions must be an array of tables ([[incident.decisions]])")
    decisions = tuple(_decision(d, f"{where}.decisions[{i}]") for i, d in enumerate(decisions_raw, start=1))
    keys = [d.key for d in decisions]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{where}.decisions: a segment or session is ruled on twice",
                          hint="keep one decision per segment (or per session)")
    return Incident(
        name=str(raw.get("name", "incident")), timezone=tz, windows=tuple(windows),
        compromised_accounts=tuple(sorted(set(accounts))), ips=tuple(str(i) for i in ips),
        user_agents=tuple(uas), count_undetermined=count_undetermined, baseline_days=baseline_days,
        usual_min_days=usual_min_days,
        containment=parse_time(containment, tz, f"{where}.containment") if containment else None,
        decisions=decisions)


# a decision's verdict: one of schema.DECISIONS ("exclude" is read as "excluded")
_DECISION_WORDS = {**{v: v for v in DECISIONS}, "exclude": "excluded"}


def _decision(raw: Any, where: str) -> Decision:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table: segment = \"…\", verdict = \"…\", justification = \"…\"")
    if "segment" in raw and "session" in raw:
        raise ConfigError(f"{where} names both a segment and a session: one decision rules on one of them",
                          hint="keep segment = \"…\" to rule on that segment, or session = \"…\" to rule on every "
                               "segment of the session; two rulings are two [[incident.decisions]]")
    key = raw.get("segment") or raw.get("session")
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(f"{where} names no segment",
                          hint="copy the segment_key (or session_key) of sessions.csv: segment = \"log:…/…\"")
    said = raw.get("verdict")
    verdict = _DECISION_WORDS.get(said) if isinstance(said, str) else None
    if verdict is None:
        raise ConfigError(f"{where}.verdict = {raw.get('verdict')!r}",
                          hint=f"use one of {', '.join(DECISIONS)} (excluded: left out of the lists, who acted unsaid)")
    why = raw.get("justification")
    if not isinstance(why, str) or len(why.strip()) < 10:
        raise ConfigError(f"{where} has no justification",
                          hint="say why, in a sentence an auditor can check (it goes into the report)")
    by = raw.get("by", "")
    if not isinstance(by, str):
        raise ConfigError(f"{where}.by must be a name")
    return Decision(key=key.strip(), verdict=str(verdict), justification=why.strip(), by=by.strip())


def baseline_start(incident: Incident) -> datetime:
    return incident.start - timedelta(days=incident.baseline_days)
