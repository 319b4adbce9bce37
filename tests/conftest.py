"""Shared fixtures: small synthetic worlds, generated once per test session."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from helpers import run_case

from scoping import Case
from scoping.synth import SynthOptions, synthesize

HOSTILE_UA = "python-requests/2.32.3 <script>alert('ua')</script><img src=x onerror=alert(1)>"
HOSTILE_LOGIN = "<svg onload=alert(3)>"


@pytest.fixture(scope="session")
def world_factory(tmp_path_factory: pytest.TempPathFactory):
    cache: dict[tuple, Path] = {}

    def make(*, scale: float = 0.3, seed: int = 7, formats: tuple[str, ...] = ("csv", "jsonl")) -> Path:
        key = (scale, seed, formats)
        if key not in cache:
            folder = tmp_path_factory.mktemp(f"world-{seed}-{str(scale).replace('.', '_')}")
            synthesize(folder, SynthOptions(scale=scale, seed=seed, formats=formats))
            cache[key] = folder
        return cache[key]

    return make


@pytest.fixture
def fresh_world(world_factory, tmp_path: Path):
    """A private copy of a cached world (tests may ingest into it and change it)."""

    def make(**kwargs) -> Path:
        src = world_factory(**kwargs)
        dst = tmp_path / "case"
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("case.duckdb*", "out", ".duckdb-tmp"))
        return dst

    return make


@pytest.fixture(scope="session")
def reported(world_factory, tmp_path_factory):
    """A world whose logs carry markup in their strings, run end to end, with its report (shared by the report's
    tests and the browser's: they read it, never change it)."""
    folder = tmp_path_factory.mktemp("report") / "case"
    shutil.copytree(world_factory(seed=7, scale=0.3), folder, ignore=shutil.ignore_patterns("case.duckdb*", "out"))
    log = folder / "logs" / "gateway-2.jsonl.gz"
    lines = gzip.decompress(log.read_bytes()).decode().splitlines()
    out = []
    for line in lines:
        if "python-requests" in line:
            rec = json.loads(line)
            rec["user_agent"] = HOSTILE_UA
            rec["path"] = rec["path"].replace("/api/v1/auth/logout", "/api/v1/auth/logout?<b>x</b>")
            line = json.dumps(rec)
        out.append(line)
    spray = {"request_id": "hostile-1", "time": "12/Nov/2025:19:00:01.000 +0100", "method": "POST",
             "path": "/api/v1/auth/login", "status": 401, "user": HOSTILE_LOGIN, "client_ip": "198.51.100.10",
             "user_agent": HOSTILE_UA, "session": "h1", "payload": {"patient_ids": None}}
    out.append(json.dumps(spray))
    out.append('{"request_id": "hostile-2", "time": "<script>alert(2)</script>", "user": "x"}')
    log.write_bytes(gzip.compress(("\n".join(out) + "\n").encode()))
    _, result = run_case(folder)
    with Case.open(folder) as case:
        case.report(result)
    return folder


@pytest.fixture(scope="session")
def embedded(world_factory, tmp_path_factory):
    """The world scoped by the embedded engine, with its lake written: what the Spark engine's runs, classic
    (test_spark.py) and over Spark Connect (test_spark_connect.py), must give byte for byte. No test publishes into
    it or changes its lake."""
    from lake_helpers import with_case_settings

    folder = tmp_path_factory.mktemp("spark") / "embedded"
    shutil.copytree(world_factory(seed=7, scale=0.3), folder,
                    ignore=shutil.ignore_patterns("case.duckdb*", "out", ".duckdb-tmp"))
    with_case_settings(folder, 'lake = "lake"')
    run_case(folder)
    return folder


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole run (2 threads, 2 shuffle partitions, no UI): a case whose engine is
    Spark finds it started."""
    from scoping.config import SparkSettings
    from scoping.spark_engine import session

    spark = session(SparkSettings(master="local[2]", config=(("spark.sql.shuffle.partitions", "2"),
                                                             ("spark.default.parallelism", "2"))))
    yield spark
    spark.stop()
