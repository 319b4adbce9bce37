"""Shared fixtures: small synthetic worlds, generated once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scoping.synth import SynthOptions, synthesize


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
def spark():
    """One local Spark session for the whole run (2 threads, 2 shuffle partitions, no UI): a case whose engine is
    Spark finds it started."""
    from scoping.config import SparkSettings
    from scoping.spark_engine import session

    spark = session(SparkSettings(master="local[2]", config=(("spark.sql.shuffle.partitions", "2"),
                                                             ("spark.default.parallelism", "2"))))
    yield spark
    spark.stop()
