"""One benchmark measurement, run in its own process: `python benchmarks/stages.py STAGE CASE`.

Prints one JSON line: {"stage", "seconds", "peak_rss_mb", ...}. Each stage is what a user runs (the
library call) or its floor (DuckDB doing the bare minimum on the same data).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import duckdb
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))


def _con(folder: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(folder / "bare.duckdb"))
    con.execute("SET memory_limit = '2GB'")
    con.execute("SET enable_progress_bar = false")
    return con


def stage(name: str, folder: Path) -> dict:
    from scoping import Case

    t0 = time.perf_counter()
    extra: dict = {}
    if name in ("ingest_csv", "ingest_jsonl"):
        (folder / "case.duckdb").unlink(missing_ok=True)
        with Case.open(folder) as case:
            report = case.ingest(["webapp" if name == "ingest_csv" else "gateway"], progress=False)
        extra["lines"] = sum(f.lines_read for f in report.files)
    elif name == "ingest_all":  # every source and reference table: the store the later stages read
        (folder / "case.duckdb").unlink(missing_ok=True)
        with Case.open(folder) as case:
            report = case.ingest(progress=False)
        extra["lines"] = sum(f.lines_read for f in report.files)
    elif name.startswith("hostile_"):  # a hostile file (benchmarks/run.py writes it) ingested at 512MB
        (folder / "case.duckdb").unlink(missing_ok=True)
        with Case.open(folder) as case:
            report = case.ingest(progress=False)
            extra["lines"] = sum(f.lines_read for f in report.files)
            extra["rows"] = case.con.execute("SELECT (SELECT count(*) FROM quarantine) + "
                                             "(SELECT count(*) FROM duplicates)").fetchone()[0]
        extra["gzip_bytes"] = sum(p.stat().st_size for p in (folder / "logs").iterdir())
    elif name == "prepare_outputs":  # not a measurement: the outputs and Parquet copy polars and pandas need
        with Case.open(folder) as case:
            case.scope(check_evidence=False).export()
            case.con.execute("COPY (SELECT * FROM events) TO $p (FORMAT parquet, ROW_GROUP_SIZE 500000)",
                             {"p": str(folder / "events.parquet")})
    elif name in ("bare_csv", "bare_jsonl"):
        (folder / "bare.duckdb").unlink(missing_ok=True)
        con = _con(folder)
        logs = json.loads((folder / "logs.json").read_text())
        files = logs["csv" if name == "bare_csv" else "jsonl"]
        if name == "bare_csv":
            con.execute("CREATE TABLE t AS SELECT * FROM read_csv($f, all_varchar = true, ignore_errors = true)",
                        {"f": files})
        else:
            con.execute("CREATE TABLE t AS SELECT * FROM read_json($f, format = 'newline_delimited', "
                        "ignore_errors = true)", {"f": files})
        extra["rows"] = con.execute("SELECT count(*) FROM t").fetchone()[0]
        con.close()
        (folder / "bare.duckdb").unlink(missing_ok=True)
    elif name == "scope":
        with Case.open(folder) as case:
            result = case.scope(check_evidence=False)  # re-hashing the evidence is measured on its own
        extra["affected"] = result.affected.height
    elif name == "export":
        with Case.open(folder) as case:
            result = case.scope(check_evidence=False)
            t0 = time.perf_counter()  # writing the outputs alone
            result.export()
        extra["files"] = len(result.lists_section().files)
    elif name == "verify_evidence":
        from scoping.completeness import check_evidence_complete

        with Case.open(folder) as case:
            extra["files"] = check_evidence_complete(case.runner, case.config)
    elif name == "bare_scan":
        with Case.open(folder) as case:
            extra["row"] = str(case.con.execute(
                "SELECT count(*), count(DISTINCT account_id), min(ts), max(ts), count(patient_id), "
                "count(DISTINCT src_ip) FROM events").fetchone())
    elif name in ("polars_scope", "pandas_scope"):
        extra.update(_alternative(name, folder))
    elif name == "discover":
        with Case.open(folder) as case:
            found = case.discover()
        extra["accounts_ranked"] = found.accounts.height
    elif name == "bare_rollup":
        with Case.open(folder) as case:
            extra["groups"] = case.con.execute(
                "SELECT count(*) FROM (SELECT account_id, patient_id, count(*), min(ts), max(ts), "
                "bit_or(1::BIGINT << list_position(['login','login_failed','logout','search','list','view','create',"
                "'update','delete','download','print','export','share','other'], action)) "
                "FROM events GROUP BY ALL)").fetchone()[0]
    elif name == "report":
        with Case.open(folder) as case:
            result = case.scope(check_evidence=False)
            result.export()
            t0 = time.perf_counter()  # the report alone, scope excluded
            case.report(result)
    elif name.startswith(("lake_", "spark_")):
        t0, extra = _beyond_one_machine(name, folder)
    elif name in ("e2e_jsonl", "plain_e2e_jsonl"):
        t0, extra = _end_to_end(name, folder)
    else:
        raise SystemExit(f"unknown stage {name}")
    seconds = time.perf_counter() - t0
    rss = _peak_rss_mb()
    return {"stage": name, "seconds": round(seconds, 3), "peak_rss_mb": round(rss, 1), **extra}


SPARK = (("spark.sql.shuffle.partitions", "4"), ("spark.driver.memory", "6g"))


def _beyond_one_machine(name: str, folder: Path) -> tuple[float, dict]:
    """The lake (DuckDB over Parquet) and Spark local stages: the case reads the lake folder/lake, which
    `lake_write` writes from the store; scope's lists must equal the store's."""
    import dataclasses
    import shutil

    from scoping import Case
    from scoping.config import SparkSettings
    from scoping.lake import Lake
    from scoping.lake import write as write_lake

    extra: dict = {}

    def reading(engine: str) -> Case:
        case = Case.open(folder)
        case.config = dataclasses.replace(case.config, lake="lake", engine=engine,
                                          spark=SparkSettings(master="local[2]", config=SPARK))
        return case

    def same_as_store(affected: pl.DataFrame) -> bool:
        with Case.open(folder) as case:
            return case.scope(check_evidence=False, count_undetermined=None).affected.equals(affected)

    if name == "lake_write":
        with Case.open(folder) as case:
            runner = case.runner
            t0 = time.perf_counter()
            info = write_lake(runner, Lake(str(folder / "lake")))
        extra["lines"] = info["tables"]["events"]
        extra["lake_mb"] = round(sum(p.stat().st_size for p in (folder / "lake").rglob("*") if p.is_file()) / 1e6)
        return t0, extra
    if name.startswith("spark_"):
        from scoping.spark_engine import session

        t_start = time.perf_counter()
        spark = session(SparkSettings(master="local[2]", config=SPARK))
        extra["session_seconds"] = round(time.perf_counter() - t_start, 1)
    t0 = time.perf_counter()
    if name in ("lake_scope", "spark_scope"):
        with reading("spark" if name == "spark_scope" else "duckdb") as case:
            result = case.scope(check_evidence=False)
        seconds = time.perf_counter() - t0
        extra.update(affected=result.affected.height, equal_to_scoping=same_as_store(result.affected),
                     compute_seconds=round(seconds, 3))
        return time.perf_counter() - seconds, extra
    if name in ("lake_discover", "spark_discover"):
        with reading("spark" if name == "spark_discover" else "duckdb") as case:
            found = case.discover()
        extra["accounts_ranked"] = found.accounts.height
        return t0, extra
    if name == "spark_account_hours":  # the full scan: every event of the lake, hour by hour, written as Parquet
        from scoping import spark_sql

        spark.read.option("basePath", str(folder / "lake/events")).parquet(str(folder / "lake/events")) \
            .drop("day").createOrReplaceTempView("events")
        target = folder / "spark-hours"
        shutil.rmtree(target, ignore_errors=True)
        spark.sql(spark_sql.spark_text("account_hours_rebuild")).write.parquet(str(target))
        extra["lines"] = spark.read.parquet(str(folder / "lake/events")).count()
        return t0, extra
    if name == "spark_session":
        return time.perf_counter() - extra["session_seconds"], extra
    raise SystemExit(f"unknown stage {name}")


E2E_COLUMNS = ["practice_id", "patient_id", "exposure", "modified", "actions", "categories", "first_access_utc",
               "last_access_utc", "accounts", "n_accesses", "attribution"]


def _end_to_end(name: str, folder: Path) -> tuple[float, dict]:
    """A gzip JSON-lines log from nothing to the affected list, as a new user runs it (`scoping ingest`, then
    `scoping scope`, the evidence hashed again as scope does), against a plain DuckDB script that reads the same
    files and answers the same question (benchmarks/plain_jsonl.py, then alt_scope's polars scope). The two lists
    must be equal."""
    from scoping import Case

    t0 = time.perf_counter()
    if name == "e2e_jsonl":
        (folder / "case.duckdb").unlink(missing_ok=True)
        with Case.open(folder) as case:
            report = case.ingest(progress=False)
            result = case.scope()
        seconds = time.perf_counter() - t0
        result.affected.select(E2E_COLUMNS).write_parquet(folder / "e2e_affected.parquet")
        return t0, {"lines": sum(f.lines_read for f in report.files), "affected": result.affected.height,
                    "compute_seconds": round(seconds, 3)}
    from alt_scope import polars_scope
    from plain_jsonl import plain_events

    from scoping.config import load
    from scoping.incident import baseline_start, parse_incident

    inc = parse_incident(load(folder).incident, where="case.toml [incident]")
    events = folder / "plain_events.parquet"
    patients, accounts = plain_events(folder, "gateway", events)
    seen = pl.scan_parquet(events).filter((pl.col("ts") >= baseline_start(inc)) & (pl.col("ts") < inc.end))
    kwargs = {"windows": [(w.start, w.end) for w in inc.windows], "compromised": list(inc.compromised_accounts),
              "baseline_start": baseline_start(inc), "count_undetermined": inc.count_undetermined,
              "ip_indicators": inc.matching_ips(seen.select("src_ip").unique().drop_nulls().collect()
                                                .to_series().to_list()),
              "client_indicators": inc.matching_clients(seen.select("user_agent").unique().drop_nulls().collect()
                                                        .to_series().to_list())}
    out = polars_scope(str(events), patients, accounts, **kwargs).filter(pl.col("practice_id").is_not_null())
    seconds = time.perf_counter() - t0
    if not (folder / "e2e_affected.parquet").is_file():
        raise SystemExit(f"{folder}: run the stage e2e_jsonl first (its list is the one this stage must equal)")
    expected = pl.read_parquet(folder / "e2e_affected.parquet").with_columns(pl.col(c).cast(pl.String)
                                                                              for c in E2E_COLUMNS)
    got = out.select(E2E_COLUMNS).with_columns(pl.col("modified").cast(pl.String).str.to_lowercase(),
                                               *(pl.col(c).cast(pl.String) for c in E2E_COLUMNS if c != "modified"))
    same = got.sort("practice_id", "patient_id").equals(expected.sort("practice_id", "patient_id"))
    return t0, {"equal_to_scoping": same, "affected": out.height, "compute_seconds": round(seconds, 3)}


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM starts afresh at exec, unlike getrusage's ru_maxrss, which a
    child inherits from the parent that forked it."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _alternative(name: str, folder: Path) -> dict:
    from alt_scope import pandas_scope, polars_scope

    from scoping import Case
    from scoping.incident import baseline_start

    with Case.open(folder) as case:
        inc = case.incident()
        patients = case.sql("SELECT patient_id, practice_id FROM patients")
        accounts = case.sql("SELECT account_id, active_until FROM accounts")
        values = case.con.execute("SELECT DISTINCT src_ip FROM events WHERE src_ip IS NOT NULL AND ts >= $a "
                                  "AND ts < $b", {"a": baseline_start(inc), "b": inc.end}).fetchall()
        uas = case.con.execute("SELECT DISTINCT user_agent FROM events WHERE user_agent IS NOT NULL AND ts >= $a "
                               "AND ts < $b", {"a": baseline_start(inc), "b": inc.end}).fetchall()
    kwargs = {"windows": [(w.start, w.end) for w in inc.windows], "compromised": list(inc.compromised_accounts),
              "baseline_start": baseline_start(inc), "count_undetermined": inc.count_undetermined,
              "ip_indicators": inc.matching_ips([v[0] for v in values]),
              "client_indicators": inc.matching_clients([v[0] for v in uas])}
    parquet = str(folder / "events.parquet")
    t0 = time.perf_counter()
    if name == "polars_scope":
        out = polars_scope(parquet, patients, accounts, **kwargs)
    else:
        out = pl.from_pandas(pandas_scope(parquet, patients.to_pandas(), accounts.to_pandas(), **kwargs))
    seconds = time.perf_counter() - t0
    expected = pl.read_csv(folder / "out" / "affected_patients.csv", infer_schema=False)
    out = out.filter(pl.col("practice_id").is_not_null())  # unknown patients: unassigned_patients.csv
    got = out.with_columns(pl.col("modified").cast(pl.String).str.to_lowercase(),
                           pl.col("n_accesses").cast(pl.String))
    cols = ["practice_id", "patient_id", "exposure", "modified", "actions", "categories", "first_access_utc",
            "last_access_utc", "accounts", "n_accesses", "attribution"]
    same = got.select(cols).sort("practice_id", "patient_id").equals(expected.select(cols).sort("practice_id",
                                                                                               "patient_id"))
    return {"equal_to_scoping": same, "compute_seconds": round(seconds, 3), "affected": out.height}


if __name__ == "__main__":
    print(json.dumps(stage(sys.argv[1], Path(sys.argv[2]))))
