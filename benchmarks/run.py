"""`make bench`: scoping's stages against DuckDB's bare floor and against polars and pandas, side by side.

Worlds of BENCH_EVENTS events (default "1e6,1e7"; add 1e8 when you have the time and disk) are generated
once with `scoping synth` and cached in benchmarks/cache/. Every measurement runs in its own process
(`stages.py`), BENCH_RUNS times (default 3); the median time and the largest peak RSS are reported.
Cases run with memory_limit = 2GB. Results go to benchmarks/RESULTS.md and the screen.

The store the scope, discover and report stages read is built by `ingest_all` (every source and reference
table), measured once per size. The `hostile` stage (BENCH_STAGES=hostile) ingests two hostile files at
memory_limit = 512MB, whatever the size: a 64 KB gzip of 67 million newlines and a 1 MB gzip of one 1 GiB line
(made once in benchmarks/cache/hostile/). From 1e8 events the per-source ingests, the polars/pandas comparison (its
Parquet copy alone is gigabytes) and the report are left out unless BENCH_STAGES names them
(BENCH_STAGES=scope,discover runs only those, at every size).

The `e2e` stage (run by default, or alone with BENCH_STAGES=e2e) takes a gzip JSON-lines log of about 2.5 million
lines from nothing to the affected list, against a plain DuckDB script answering the same question; both lists
must be equal. With BENCH_LONGER=1, the worlds after the first size keep its daily volume over more days
(`scoping synth --days`), so that scope at 1e8 compares with scope at 1e7 on the same days' volume.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
CACHE = HERE / "cache"
EVENTS_PER_SCALE = 48_300  # scale 1 of `scoping synth` is about this many events
STAGES = [("ingest_csv", "bare_csv"), ("ingest_jsonl", "bare_jsonl"), ("verify_evidence", None), ("scope", "bare_scan"),
          ("export", None),
          ("polars_scope", None), ("pandas_scope", None), ("discover", "bare_rollup"), ("report", None),
          # beyond one machine: the lake written from the store, DuckDB over it, Spark local (2 cores) over it
          ("lake_write", None), ("lake_scope", None), ("lake_discover", None), ("spark_session", None),
          ("spark_scope", None), ("spark_discover", None), ("spark_account_hours", None)]
LARGE = 50_000_000  # from this size, only the stages the scale targets are about run by default
LARGE_STAGES = {"bare_csv", "bare_jsonl", "verify_evidence", "scope", "discover", "lake_write", "lake_scope",
                "lake_discover", "spark_session", "spark_scope", "spark_discover", "spark_account_hours"}
ONCE = {"lake_write", "spark_session", "spark_scope", "spark_discover", "spark_account_hours"}  # slow: one run
HOSTILE = ("hostile_newline_bomb", "hostile_long_line")  # the `hostile` stage: measured once, not per size
E2E_EVENTS = 2_500_000  # the end-to-end pair (stage `e2e`): a gzip JSON-lines log of about this many lines


def _e2e_case() -> Path:
    """A world whose every channel is the gateway's gzip JSON lines (`scoping synth --formats jsonl`)."""
    from scoping.synth import SynthOptions, synthesize

    folder = CACHE / f"e2e-jsonl-{E2E_EVENTS / 1e6:g}M"
    if not (folder / "truth" / "counts.json").exists():
        result = synthesize(folder, SynthOptions(scale=E2E_EVENTS / EVENTS_PER_SCALE, seed=7, formats=("jsonl",)))
        print(f"  generated {result.events:,} events (JSON lines only)", flush=True)
    return folder


def _hostile_case(kind: str) -> Path:
    """A case holding one hostile gzip file (written once): 67 M newlines, or one line of 1 GiB."""
    import zlib

    folder = CACHE / "hostile" / kind
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    path = folder / "logs" / "hostile.jsonl.gz"
    if not path.exists():
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        fill = b"\n" if kind == "hostile_newline_bomb" else b"x"
        with path.open("wb") as fh:
            for _ in range(64 if kind == "hostile_newline_bomb" else 1024):
                fh.write(c.compress(fill * 2**20))
            fh.write(c.compress(b"\n") + c.flush())
    (folder / "case.toml").write_text('[case]\nmemory_limit = "512MB"\nthreads = 2\n\n[sources.hostile]\n'
                                      'format = "jsonl"\nfiles = ["logs/*.jsonl.gz"]\nmax_quarantined_share = 1\n'
                                      '[sources.hostile.columns]\nts = "when"\naccount_id = "who"\n')
    return folder


def _sizes_wanted() -> bool:
    named = _named()
    return not named or bool(named - set(HOSTILE) - {"hostile", "e2e"})


def _named() -> set[str]:
    named = {x.strip() for x in os.environ.get("BENCH_STAGES", "").split(",") if x.strip()}
    return named | set(HOSTILE) if "hostile" in named else named


def _chosen(n: int) -> list[tuple[str, str | None]]:
    named = _named()
    if named:
        return [(s, f) for s, f in STAGES if s in named]
    if n >= LARGE:  # the per-source ingests are replaced by ingest_all; their floors still run
        return [(f, None) if s.startswith("ingest") else (s, f) for s, f in STAGES
                if s in LARGE_STAGES or (s.startswith("ingest") and f in LARGE_STAGES)]
    return STAGES


def _sizes() -> list[int]:
    return [int(float(x)) for x in os.environ.get("BENCH_EVENTS", "1e6,1e7").split(",") if x.strip()]


def _world(n: int) -> Path:
    """The world of about n events: by default a bigger daily volume over the same 28 days; with BENCH_LONGER=1 the
    worlds beyond the first size keep the first size's daily volume and have more days (`scoping synth --days`)."""
    from scoping.synth import SynthOptions, synthesize

    base = _sizes()[0]
    longer = os.environ.get("BENCH_LONGER") == "1" and n > base
    scale, days = (base / EVENTS_PER_SCALE, round(28 * n / base)) if longer else (n / EVENTS_PER_SCALE, 28)
    folder = CACHE / (f"world-{n:.0e}-{days}d" if longer else f"world-{n:.0e}")
    if not (folder / "truth" / "counts.json").exists():
        t0 = time.perf_counter()
        result = synthesize(folder, SynthOptions(scale=scale, seed=7, days=days))
        print(f"  generated {result.events:,} events in {time.perf_counter() - t0:.0f} s", flush=True)
    return folder


def _case(world: Path, name: str) -> Path:
    """A case folder whose case.toml points at the world's logs and references by absolute path."""
    folder = CACHE / f"{name}-{world.name}"
    folder.mkdir(parents=True, exist_ok=True)
    toml = (world / "case.toml").read_text()
    toml = toml.replace('"logs/', f'"{(world / "logs").resolve()}/').replace('"reference/',
                                                                           f'"{(world / "reference").resolve()}/')
    (folder / "case.toml").write_text(toml)
    logs = sorted((world / "logs").iterdir())
    (folder / "logs.json").write_text(json.dumps({
        "csv": [str(p.resolve()) for p in logs if p.name.endswith(".csv")],
        "jsonl": [str(p.resolve()) for p in logs if p.name.endswith(".jsonl.gz")]}))
    return folder


def _measure(stage: str, folder: Path, runs: int) -> dict:
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, str(HERE / "stages.py"), stage, str(folder)], capture_output=True,
                             text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"stage {stage} failed:\n{out.stderr[-3000:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first = results[0]
    return {**first, "seconds": statistics.median(r["seconds"] for r in results),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results), "runs": runs,
            "compute_seconds": statistics.median(r.get("compute_seconds", r["seconds"]) for r in results)}


def _store_size(folder: Path) -> tuple[int, float]:
    import duckdb

    con = duckdb.connect(str(folder / "case.duckdb"), read_only=True)
    n = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    return n, (folder / "case.duckdb").stat().st_size / 1e6


def main() -> int:
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    CACHE.mkdir(exist_ok=True)
    rows, stores, failures = [], [], []
    for n in _sizes() if _sizes_wanted() else []:
        print(f"world of ~{n:,.0f} events", flush=True)
        world = _world(n)
        ingest_case = _case(world, "ingest")
        scope_case = _case(world, "scope")
        m = _measure("ingest_all", scope_case, 1)
        rows.append((n, "ingest_all", m, None, None))
        print(f"  {'ingest_all':14} {m['seconds']:8.2f} s  peak RSS {m['peak_rss_mb']:,.0f} MB", flush=True)
        stores.append((n, *_store_size(scope_case)))
        chosen = _chosen(n)
        if any(s in ("polars_scope", "pandas_scope", "report", "export") for s, _ in chosen):
            _measure("prepare_outputs", scope_case, 1)
        for stage, floor in chosen:
            folder = ingest_case if stage.startswith("ingest") else scope_case
            m = _measure(stage, folder, runs if n < LARGE and stage not in ONCE else 1)
            f = _measure(floor, folder, runs if n < LARGE else 1) if floor else None
            if "equal_to_scoping" in m and not m["equal_to_scoping"]:
                failures.append(f"{stage} at {n:.0e}: result differs from scoping's affected list")
            rows.append((n, stage, m, floor, f))
            ratio = f"{f['seconds'] / m['seconds']:.2f}" if f else "—"
            print(f"  {stage:14} {m['seconds']:8.2f} s  floor {floor or '—':12} "
                  f"{(f['seconds'] if f else float('nan')):8.2f} s  floor/stage {ratio}  "
                  f"peak RSS {m['peak_rss_mb']:,.0f} MB", flush=True)
    if not _named() or _named() & set(HOSTILE):
        for stage in HOSTILE:
            m = _measure(stage, _hostile_case(stage), 1)
            rows.append((0, stage, m, None, None))
            print(f"  {stage:20} {m['seconds']:8.2f} s  peak RSS {m['peak_rss_mb']:,.0f} MB  {m['lines']:,} lines "
                  f"in {m['rows']:,} rows", flush=True)
    if not _named() or "e2e" in _named():
        folder = _e2e_case()
        m = _measure("e2e_jsonl", folder, runs)
        f = _measure("plain_e2e_jsonl", folder, runs)
        if not f["equal_to_scoping"]:
            failures.append("plain_e2e_jsonl: the plain script's list differs from scoping's")
        rows.append((m["lines"], "e2e_jsonl", m, "plain_e2e_jsonl", f))
        print(f"  {'e2e_jsonl':14} {m['seconds']:8.2f} s  plain {f['seconds']:8.2f} s  floor/stage "
              f"{f['seconds'] / m['seconds']:.2f}  same list: {f['equal_to_scoping']}", flush=True)
    text = _results_md(rows, stores, runs, failures)
    (HERE / "RESULTS.md").write_text(text)
    print(text)
    return 1 if failures else 0


def _results_md(rows: list, stores: list, runs: int, failures: list[str]) -> str:
    import duckdb
    import pandas
    import polars

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else "?"
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    out = ["# Benchmark results", "",
           f"Machine: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB; Python {platform.python_version()}, "
           f"DuckDB {duckdb.__version__}, polars {polars.__version__}, pandas {pandas.__version__}. "
           f"Median of {runs} runs (one run from {LARGE:.0e} events, and for ingest_all), each in its own process; "
           f"cases at memory_limit = 2GB."
           + (" Worlds after the first size have its daily volume over more days (BENCH_LONGER=1)."
              if os.environ.get("BENCH_LONGER") == "1" else ""), "",
           "| events | stage | median s | floor | floor s | floor / stage | peak RSS MB | notes |",
           "|---:|---|---:|---|---:|---:|---:|---|"]
    for n, stage, m, floor, f in rows:
        notes = []
        if "lines" in m and "rows" not in m:
            notes.append(f"{m['lines']:,} lines, {m['lines'] / m['seconds']:,.0f} lines/s")
        if "equal_to_scoping" in m:
            notes.append(f"same list as scoping: {m['equal_to_scoping']}; compute only {m['compute_seconds']:.2f} s")
        if "files" in m:
            notes.append(f"{m['files']:,} files")
        if "affected" in m:
            notes.append(f"{m['affected']:,} affected rows")
        if "session_seconds" in m:
            notes.append(f"Spark session start {m['session_seconds']:.1f} s (not counted)")
        if "lake_mb" in m:
            notes.append(f"lake {m['lake_mb']:,} MB")
        ratio = f"{f['seconds'] / m['seconds']:.2f}" if f else ""
        if "rows" in m:
            notes.append(f"{m['rows']:,} quarantine/duplicate rows for {m['lines']:,} lines; "
                         f"{m['gzip_bytes']:,} bytes of gzip; memory_limit 512MB")
        out.append(f"| {f'{n:.0e}' if n else '—'} | {stage} | {m['seconds']:.2f} | {floor or ''} | "
                   f"{f['seconds'] if f else '':} | {ratio} | {m['peak_rss_mb']:,.0f} | {'; '.join(notes)} |")
    out += ["", "| events | events stored | store MB | MB per million events |", "|---:|---:|---:|---:|"]
    out += [f"| {n:.0e} | {e:,} | {mb:,.0f} | {mb / (e / 1e6):,.0f} |" for n, e, mb in stores]
    out += ["", "`ingest_all` ingests every source and reference table into the store the later stages read. "
            "Floors: `bare_csv` / `bare_jsonl` = DuckDB `read_csv` / `read_json` of the same files into a table "
            "(ignore_errors: no ledger, no keys, no mapping); `bare_scan` = one pass over the events table; "
            "`bare_rollup` = every account × patient with count, first, last and an action bitmask. "
            "`scope` is the question (attribution, exposures, lists, summary) without writing files; `export` "
            "writes every output (one CSV per practice included) and the manifest; `verify_evidence` re-hashes "
            "the evidence as every real `scope` run does first. "
            "`polars_scope` and `pandas_scope` answer the scope question from a Parquet export of the events "
            "table (benchmarks/alt_scope.py); their result must equal scoping's or the benchmark fails. "
            "`lake_write` writes the store's canonical tables as the Parquet lake (events partitioned by day); "
            "`lake_scope` / `lake_discover` are scope and discover on DuckDB reading views over the lake; "
            "`spark_*` run the same with `[case] engine = \"spark\"` on Spark local mode (`local[2]`, the session "
            "started first and timed apart in `spark_session`); `spark_account_hours` is Spark's full scan of every "
            "event into the accounts' hours. Their lists must equal the store's. "
            "`e2e_jsonl` (its row counts lines) is a gzip JSON-lines log from nothing to the affected list as a new "
            "user runs it (`ingest`, then `scope`, which hashes the evidence again); its floor `plain_e2e_jsonl` is "
            "a plain DuckDB script over the same files (benchmarks/plain_jsonl.py: `read_json`, the case's rules as "
            "SQL, then the polars scope): no ledger, no digests, no checks. Their lists must be equal."]
    if failures:
        out += ["", "**FAILED:** " + "; ".join(failures)]
    kept = _kept_history()
    return "\n".join(out) + "\n" + (f"\n{kept}" if kept else "")


HISTORY = "## Before / after"  # RESULTS.md from this heading on is written by hand and kept by every run


def _kept_history() -> str:
    """The hand-written record of what each change gave (RESULTS.md from HISTORY on), kept across runs."""
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    return text[text.index(HISTORY):] if HISTORY in text else ""


if __name__ == "__main__":
    shutil.rmtree(CACHE / "tmp", ignore_errors=True)
    sys.exit(main())
