"""Discovery: compromised accounts rank above every decoy, and the proposed incident reproduces the truth."""

from __future__ import annotations

import tomllib

import polars as pl
import pytest
from helpers import compare_with_truth, read

from scoping import Case
from scoping.incident import parse_incident


@pytest.mark.parametrize(("seed", "scale"), [(7, 0.3), (11, 0.5), (2025, 1.0)])
def test_compromised_accounts_rank_above_every_decoy_and_proposal_reproduces_truth(fresh_world, seed, scale):
    folder = fresh_world(seed=seed, scale=scale)
    with Case.open(folder) as case:
        case.ingest(progress=False)
        found = case.discover()
        compromised = set(read(folder / "truth/compromised_accounts.csv")["account_id"])
        decoys = set(read(folder / "truth/decoys.csv")["account_id"])
        scores = dict(zip(found.accounts["account_id"], found.accounts["score"], strict=True))
        lowest_compromised = min(scores[a] for a in compromised)
        assert all(scores.get(d, 0) < lowest_compromised for d in decoys)
        assert set(found.proposed["account_id"]) == compromised
        proposal = found.proposed_incident()
        result = case.scope(parse_incident(proposal))
        result.export()
    cmp = compare_with_truth(folder)
    assert cmp["missing"] == cmp["extra"] == cmp["attempted_missing"] == cmp["attempted_extra"] == 0
    assert all(v == 0 for k, v in cmp.items() if k.startswith("mismatch_"))


def test_attacker_sessions_of_a_shared_account_are_told_apart_from_the_owners(fresh_world):
    folder = fresh_world(seed=7, scale=0.3)
    interleaved = read(folder / "truth/compromised_accounts.csv").filter(
        (pl.col("owner_active_during_breach") == "true") & (pl.col("how") == "password spraying take-over"))[
        "account_id"][0]
    truth_ips = set(read(folder / "truth/attacker_sessions.csv").filter(pl.col("account_id") == interleaved)["ip"])
    with Case.open(folder) as case:
        case.ingest(progress=False)
        found = case.discover()
    sessions = found.sessions.filter(pl.col("account_id") == interleaved)
    suspect_ips = set(sessions.filter(pl.col("assessment") != "owner-like")["src_ips"])
    owner_ips = set(sessions.filter(pl.col("assessment") == "owner-like")["src_ips"])
    assert suspect_ips == truth_ips
    assert owner_ips and not owner_ips & truth_ips


def test_written_proposal_is_valid_toml_and_every_reason_names_its_signal(fresh_world, tmp_path):
    folder = fresh_world(seed=7, scale=0.3)
    with Case.open(folder) as case:
        case.ingest(progress=False)
        found = case.discover()
        published = case.publish_discovery(found)
    raw = tomllib.loads((published.folder / "proposed_incident.toml").read_text())
    inc = parse_incident(raw["incident"])
    assert inc.compromised_accounts
    from scoping import queries

    text = queries.get("discover_signals").text + queries.get("discover_pivot").text
    for signals in found.accounts["signals"]:
        for name in signals.split(", "):
            assert f"'{name}' AS signal" in text


def test_a_period_without_events_says_so_rather_than_zero_accounts(fresh_world):
    """A wrong year read as "0 account(s)", as if every account had been examined and found clean."""
    folder = fresh_world(seed=7, scale=0.3)
    with Case.open(folder) as case:
        case.ingest(progress=False)
        empty = case.discover(since="2020-01-01", until="2020-01-08")
        found = case.discover()
    assert empty.period_events == 0 and "NO EVENT falls in the period examined" in empty.describe()
    assert found.period_events and "NO EVENT" not in found.describe()


def test_a_proposed_window_never_ends_past_the_period_examined(fresh_world):
    """The last suspicious minute was rounded up: with --to a few seconds after it, the window ended past --to."""
    from datetime import datetime, timedelta

    folder = fresh_world(seed=7, scale=0.3)
    with Case.open(folder) as case:
        case.ingest(progress=False)
        last = max(datetime.fromisoformat(x) for x in case.discover().proposed["last_suspicious_utc"])
        found = case.discover(until=(last + timedelta(seconds=1)).isoformat())
        windows = found.proposed_incident()["windows"]
        scoped = case.scope(case.incident(found.proposed_incident()))
    assert max(datetime.fromisoformat(e) for _, e in windows) <= found.period[1]
    assert scoped.frames["accesses"].height  # the last suspicious event is still inside its window
