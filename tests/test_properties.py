"""Properties of scoping that must hold for any incident (hypothesis)."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from helpers import run_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoping import Case
from scoping.incident import Window


@pytest.fixture(scope="module")
def ingested(world_factory, tmp_path_factory):
    folder = tmp_path_factory.mktemp("props") / "case"
    shutil.copytree(world_factory(seed=7, scale=0.3), folder,
                    ignore=shutil.ignore_patterns("case.duckdb*", "out"))
    case = Case.open(folder)
    case.ingest(progress=False)
    yield case
    case.close()


def _patients(case: Case, incident) -> set[tuple[str, str]]:
    r = case.scope(incident)
    return set(zip(r.affected["practice_id"], r.affected["patient_id"], strict=True))


hours = st.integers(min_value=0, max_value=60)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=hours, length=st.integers(1, 60), widen_before=st.integers(0, 24), widen_after=st.integers(0, 24))
def test_a_wider_window_never_yields_fewer_patients(ingested, start, length, widen_before, widen_after):
    base = ingested.incident()
    t0 = base.start + timedelta(hours=start)
    narrow = base.with_windows((Window(t0, t0 + timedelta(hours=length)),))
    wide = base.with_windows((Window(t0 - timedelta(hours=widen_before),
                                     t0 + timedelta(hours=length + widen_after)),))
    assert _patients(ingested, narrow) <= _patients(ingested, wide)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_removing_a_compromised_account_never_adds_a_patient(ingested, data):
    base = ingested.incident()
    account = data.draw(st.sampled_from(base.compromised_accounts))
    fewer = base.without_account(account)
    if not fewer.compromised_accounts:
        return
    assert _patients(ingested, fewer) <= _patients(ingested, base)


def test_the_order_of_input_files_and_sources_changes_no_output_byte(fresh_world, tmp_path):
    folder = fresh_world(seed=7, scale=0.3)
    run_case(folder)
    first = {p.relative_to(folder / "out"): p.read_bytes() for p in (folder / "out").rglob("*") if p.is_file()}
    other = tmp_path / "shuffled"
    shutil.copytree(folder, other, ignore=shutil.ignore_patterns("case.duckdb*", "out"))
    toml = (other / "case.toml").read_text()
    toml = toml.replace('files = ["logs/webapp-*.csv"]',
                        'files = ["logs/webapp-2025-11.csv", "logs/webapp-2025-10.csv"]')
    toml = toml.replace('files = ["logs/gateway-*.jsonl.gz"]',
                        'files = ["logs/gateway-2.jsonl.gz", "logs/gateway-1.jsonl.gz"]')
    # move the web source after the gateway source in the file
    web_start = toml.index("[sources.webapp]")
    web_end = toml.index("[sources.gateway]")
    ref_start = toml.index("[reference.accounts]")
    toml = toml[:web_start] + toml[web_end:ref_start] + toml[web_start:web_end] + toml[ref_start:]
    (other / "case.toml").write_text(toml)
    run_case(other)
    second = {p.relative_to(other / "out"): p.read_bytes() for p in (other / "out").rglob("*") if p.is_file()}
    for rel, data in first.items():
        if rel.name != "manifest.json":
            assert data == second[rel], rel
