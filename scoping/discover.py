"""Discovery: rank the accounts and sessions that look compromised, before anyone names them.

Each signal is computed in SQL against the account's own baseline (`discover_signals.sql`), then a
pivot follows the attacker's new addresses from the strongest accounts to others
(`discover_pivot.sql`). Every reason shown carries the signal name of the SQL that produced it.
`DiscoveryResult.proposed_incident()` turns the ranking into an incident definition for the analyst
to review before `scope`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .errors import ConfigError
from .export import csv_bytes, private_dir, write_private
from .incident import parse_time
from .ingest import ensure_account_hours

if TYPE_CHECKING:
    from .case import Case


@dataclass(frozen=True)
class DiscoverySettings:
    """The thresholds, all bound as parameters of the discovery SQL and recorded with the results."""

    baseline_days: int = 28
    period_days: int = 7
    threshold: int = 60            # score from which an account is proposed as compromised
    seed_points: int = 80          # signals strong enough to start the pivot on their own
    min_foreign_patients: int = 5
    spray_min_accounts: int = 5
    gateway_min_accounts: int = 5
    volume_min_ratio: float = 3.0
    max_depth: int = 5


@dataclass
class DiscoveryResult:
    accounts: pl.DataFrame
    sessions: pl.DataFrame
    indicators: pl.DataFrame
    period: tuple[datetime, datetime]
    baseline_start: datetime
    settings: DiscoverySettings
    timezone: str = "UTC"
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def proposed(self) -> pl.DataFrame:
        return self.accounts.filter(pl.col("score") >= self.settings.threshold)

    def proposed_incident(self) -> dict[str, Any]:
        """An [incident] table: accounts above the threshold, windows from first to last suspicious activity."""
        spans = []
        for row in self.proposed.iter_rows(named=True):
            if row["first_suspicious_utc"] is None:
                continue
            start = datetime.fromisoformat(row["first_suspicious_utc"]).replace(second=0)
            end = datetime.fromisoformat(row["last_suspicious_utc"]).replace(second=0) + timedelta(minutes=1)
            spans.append((start, end))
        spans.sort()
        merged: list[list[datetime]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        ind = self.indicators
        return {
            "name": "Proposed by scoping discover (review before use)",
            "timezone": self.timezone,
            "windows": [[s.isoformat(), e.isoformat()] for s, e in merged],
            "compromised_accounts": sorted(self.proposed["account_id"].to_list()),
            "indicators": {
                "ips": ind.filter(pl.col("kind") == "ip")["value"].to_list(),
                "user_agents": [_glob_literal(v) for v in ind.filter(pl.col("kind") == "client")["value"]],
            },
        }

    def describe(self, limit: int = 15) -> str:
        lines = [f"period examined: {self.period[0].isoformat()} → {self.period[1].isoformat()} "
                 f"(baseline from {self.baseline_start.isoformat()})",
                 f"{'score':>5}  {'account':14} {'practice':10} reasons"]
        for row in self.accounts.head(limit).iter_rows(named=True):
            mark = "*" if row["score"] >= self.settings.threshold else " "
            lines.append(f"{row['score']:>5}{mark} {row['account_id']:14} {row['practice_id'] or '-':10} "
                         f"{row['reasons'][:150]}")
        lines.append(f"* = proposed as compromised (score ≥ {self.settings.threshold}); "
                     f"{self.proposed.height} account(s)")
        return "\n".join(lines)

    def write(self, out: Path, *, write_incident: bool = False) -> Path:
        private_dir(out)
        write_private(out / "discovery.csv", csv_bytes(self.accounts))
        write_private(out / "discovery_sessions.csv", csv_bytes(self.sessions))
        if write_incident:
            write_private(out / "proposed_incident.toml", incident_toml(self.proposed_incident()).encode())
            return out / "proposed_incident.toml"
        return out / "discovery.csv"


def _glob_literal(value: str) -> str:
    """A user agent as a glob matching exactly itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in value)


def _toml_str(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def incident_toml(inc: dict[str, Any]) -> str:
    windows = ", ".join(f"[{_toml_str(s)}, {_toml_str(e)}]" for s, e in inc["windows"])
    return "\n".join([
        "# Proposed by `scoping discover`: review every line, then copy it into case.toml.",
        "[incident]",
        f"name = {_toml_str(inc['name'])}",
        f"timezone = {_toml_str(inc['timezone'])}",
        f"windows = [{windows}]",
        f"compromised_accounts = [{', '.join(_toml_str(a) for a in inc['compromised_accounts'])}]",
        "",
        "[incident.indicators]",
        f"ips = [{', '.join(_toml_str(i) for i in inc['indicators']['ips'])}]",
        f"user_agents = [{', '.join(_toml_str(u) for u in inc['indicators']['user_agents'])}]",
        "",
    ])


def _bound(case: Case, value: str | datetime | None, what: str) -> datetime | None:
    if value is None:
        return None
    tz = (case.config.incident or {}).get("timezone", "UTC")
    return parse_time(value, tz, f"discover --{what}")


def discover(case: Case, *, since: str | datetime | None = None, until: str | datetime | None = None,
             settings: DiscoverySettings | None = None) -> DiscoveryResult:
    case.require_events()
    s = settings or DiscoverySettings()
    r = case.runner
    last = r.execute("discover_last_event", "SELECT max(ts) FROM events")[0][0]
    end = _bound(case, until, "to") or (last.astimezone(UTC) + timedelta(seconds=1))
    start = _bound(case, since, "from") or (end - timedelta(days=s.period_days))
    start = start.replace(minute=0, second=0, microsecond=0)  # the baseline is read in whole hours
    if end <= start:
        raise ConfigError("discover: --to must be after --from")
    baseline = start - timedelta(days=s.baseline_days)
    ensure_account_hours(r)
    r.run("discover_events", baseline_start=baseline.isoformat(), period_start=start.isoformat(),
          period_end=end.isoformat())
    r.run("discover_signals", min_foreign_patients=s.min_foreign_patients, spray_min_accounts=s.spray_min_accounts,
          gateway_min_accounts=s.gateway_min_accounts, volume_min_ratio=s.volume_min_ratio)
    r.run("discover_pivot", seed_points=s.seed_points, gateway_min_accounts=s.gateway_min_accounts,
          max_depth=s.max_depth)
    r.run("discover_session_input")
    r.run("sessions_derive", gap_minutes=case.config.session_gap_minutes)
    tz = (case.config.incident or {}).get("timezone") or next(
        (src.timezone for src in case.config.sources if src.timezone), "UTC")
    return DiscoveryResult(
        accounts=r.frame("discover_accounts"),
        sessions=r.frame("discover_sessions", threshold=s.threshold),
        indicators=r.frame("discover_indicators", threshold=s.threshold),
        period=(start, end), baseline_start=baseline, settings=s, timezone=tz,
    )
