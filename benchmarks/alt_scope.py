"""The scope question answered with polars and with pandas, from a Parquet export of the events table.

The rules of scoping/sql/scope_*.sql (sessions, segments, attribution, exposure) as they bear on the synthetic
worlds, so the benchmark can check that both give exactly scoping's affected list before comparing times. The
exposure ladder is read from scoping.schema, the one vocabulary. Refinements for hostile logs are not written
twice: a client or address missing from a line taken from its session, addresses compared by network key, log
sessions older than the day read, accounts without baseline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import polars as pl

from scoping.schema import ACTION_EXPOSURE, AUTHENTICATION, EXPOSURES, LIST_CATEGORY, MODIFYING

LEVEL = {a: EXPOSURES.index(e) + 1 for a, e in ACTION_EXPOSURE.items() if e is not None}
COPY_LEVEL = EXPOSURES.index("copied") + 1
AUTH = AUTHENTICATION
COLUMNS = ["practice_id", "patient_id", "exposure", "modified", "actions", "categories", "first_access_utc",
           "last_access_utc", "accounts", "n_accesses", "attribution"]


def _fmt(col: str) -> pl.Expr:
    """As scoping writes instants (store_macros.sql): to the second, with sub-second digits when there are any."""
    t = pl.col(col).dt.convert_time_zone("UTC")
    frac = (t.dt.epoch("us") % 1_000_000).cast(pl.String).str.zfill(6).str.strip_chars_end("0")
    return (t.dt.strftime("%Y-%m-%dT%H:%M:%S")
            + pl.when(frac == "").then(pl.lit("")).otherwise(pl.lit(".") + frac) + pl.lit("+00:00"))


def _pd_fmt(values: pd.Series) -> pd.Series:
    t = values.dt.tz_convert("UTC")
    frac = (t.dt.microsecond.astype(str).str.zfill(6).str.rstrip("0"))
    return t.dt.strftime("%Y-%m-%dT%H:%M:%S") + frac.map(lambda f: "." + f if f else "") + "+00:00"


def polars_scope(events_parquet: str, patients: pl.DataFrame, accounts: pl.DataFrame, *, windows: list[tuple],
                 compromised: list[str], baseline_start: datetime, gap_minutes: int = 30,
                 count_undetermined: bool = True, ip_indicators: list[str] = (),
                 client_indicators: list[str] = (), usual_min_days: int = 2) -> pl.DataFrame:
    end = max(w[1] for w in windows)
    start = min(w[0] for w in windows)
    ev = (pl.scan_parquet(events_parquet)
          .filter((pl.col("ts") >= baseline_start) & (pl.col("ts") < end) & pl.col("account_id").is_in(compromised))
          .collect())
    ev = ev.sort("account_id", "src_ip", "user_agent", "ts", "event_key", nulls_last=False)
    grp = ["account_id", "src_ip", "user_agent"]
    gap = (pl.col("ts") - pl.col("ts").shift(1).over(grp)) >= timedelta(minutes=gap_minutes)
    ev = ev.with_columns((pl.col("ts").shift(1).over(grp).is_null() | gap).cast(pl.Int64).alias("new_run"))
    ev = ev.with_columns(pl.col("new_run").cum_sum().over(grp).alias("run_no"))
    derived = pl.concat_str([pl.lit("derived:"), pl.col("account_id"), pl.col("src_ip").fill_null("-"),
                             pl.col("user_agent").fill_null("-"), pl.col("run_no").cast(pl.String)], separator="|")
    ev = ev.with_columns(pl.when(pl.col("session_id").is_not_null()).then(pl.lit("log:") + pl.col("session_id"))
                         .otherwise(derived).alias("session_key"))
    ev = ev.with_columns(pl.concat_str([pl.col("session_key"), pl.col("src_ip").fill_null("-"),
                                        pl.col("user_agent").fill_null("-")], separator="/").alias("segment_key"))
    starts = (ev.sort("ts", "event_key").group_by("account_id", "session_key", maintain_order=True)
              .agg(pl.col("src_ip").first().alias("session_ip"), pl.col("user_agent").first().alias("session_ua")))
    in_win = pl.any_horizontal([(pl.col("ts") >= a) & (pl.col("ts") < b) for a, b in windows])
    ev = ev.with_columns(in_win.alias("in_window")).join(starts, on=["account_id", "session_key"], how="left")
    segments = ev.filter("in_window").select("account_id", "segment_key").unique()
    base = ev.filter(pl.col("ts") < start).with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.date().alias("day"))

    def usual(column: str, flag: str) -> pl.DataFrame:  # used on usual_min_days different days of the baseline
        return (base.drop_nulls(column).group_by("account_id", column).agg(pl.col("day").n_unique().alias("days"))
                .filter(pl.col("days") >= usual_min_days).select("account_id", column, pl.lit(True).alias(flag)))

    bips, buas = usual("src_ip", "ip_known"), usual("user_agent", "ua_known")
    sips = bips.rename({"src_ip": "session_ip", "ip_known": "sip_known"})
    suas = buas.rename({"user_agent": "session_ua", "ua_known": "sua_known"})
    se = (ev.join(segments, on=["account_id", "segment_key"]).join(accounts.select("account_id", "active_until"),
                                                                   on="account_id", how="left")
          .join(bips, on=["account_id", "src_ip"], how="left").join(buas, on=["account_id", "user_agent"], how="left")
          .join(sips, on=["account_id", "session_ip"], how="left")
          .join(suas, on=["account_id", "session_ua"], how="left"))
    began_usual = ((pl.col("session_ip").is_null() | pl.col("sip_known").is_not_null())
                   & (pl.col("session_ua").is_null() | pl.col("sua_known").is_not_null()))
    per = se.group_by("account_id", "segment_key").agg(
        (pl.col("active_until").is_not_null() & (pl.col("ts") >= pl.col("active_until"))).any().alias("departed"),
        pl.col("src_ip").is_in(list(ip_indicators)).any().alias("ind_ip"),
        pl.col("user_agent").is_in(list(client_indicators)).any().alias("ind_ua"),
        (pl.col("src_ip").is_not_null() & pl.col("ip_known").is_null()).any().alias("new_ip"),
        (pl.col("user_agent").is_not_null() & pl.col("ua_known").is_null()).any().alias("new_ua"),
        (pl.col("src_ip").is_null() | pl.col("ip_known").is_not_null()).all().alias("usual_ip"),
        (pl.col("user_agent").is_null() | pl.col("ua_known").is_not_null()).all().alias("usual_ua"),
        (pl.col("src_ip").is_not_null() | pl.col("user_agent").is_not_null()).any().alias("identified"),
        (began_usual & pl.col("src_ip").is_not_null() & (pl.col("src_ip") != pl.col("session_ip").fill_null(""))
         & pl.col("ip_known").is_null()).any().alias("replayed"))
    per = per.with_columns(
        pl.when(pl.col("departed") | pl.col("ind_ip") | pl.col("ind_ua") | (pl.col("new_ip") & pl.col("new_ua"))
                | pl.col("replayed"))
        .then(pl.lit("attacker")).when(pl.col("usual_ip") & pl.col("usual_ua") & pl.col("identified"))
        .then(pl.lit("owner")).otherwise(pl.lit("undetermined")).alias("verdict"))
    counted = per.filter((pl.col("verdict") == "attacker")
                         | ((pl.col("verdict") == "undetermined") & count_undetermined))
    level = pl.col("action").replace_strict(LEVEL, default=2, return_dtype=pl.Int64)
    acc = (ev.filter(pl.col("in_window") & pl.col("patient_id").is_not_null() & ~pl.col("action").is_in(AUTH))
           .join(counted.select("account_id", "segment_key", "verdict"), on=["account_id", "segment_key"])
           .filter(pl.col("outcome") != "failure")
           .with_columns(pl.when((level < COPY_LEVEL) & (pl.col("category") == LIST_CATEGORY)).then(1)
                         .otherwise(level).alias("level")))
    agg = acc.group_by("patient_id").agg(
        pl.col("level").max().replace_strict({1: "listed", 2: "opened", 3: "copied"}, return_dtype=pl.String)
        .alias("exposure"),
        pl.col("action").is_in(list(MODIFYING)).any().alias("modified"),
        pl.col("action").unique().sort().str.join("|").alias("actions"),
        pl.col("category").unique().sort().str.join("|").alias("categories"),
        pl.col("ts").min().alias("first"), pl.col("ts").max().alias("last"),
        pl.col("account_id").unique().sort().str.join("|").alias("accounts"),
        pl.len().alias("n_accesses"),
        pl.when((pl.col("verdict") == "attacker").any()).then(pl.lit("attacker")).otherwise(pl.lit("undetermined"))
        .alias("attribution"))
    return (agg.join(patients, on="patient_id", how="left")
            .with_columns(_fmt("first").alias("first_access_utc"), _fmt("last").alias("last_access_utc"),
                          pl.col("n_accesses").cast(pl.Int64))
            .select(COLUMNS).sort("practice_id", "patient_id"))


def pandas_scope(events_parquet: str, patients: pd.DataFrame, accounts: pd.DataFrame, *, windows: list[tuple],
                 compromised: list[str], baseline_start: datetime, gap_minutes: int = 30,
                 count_undetermined: bool = True, ip_indicators: list[str] = (),
                 client_indicators: list[str] = (), usual_min_days: int = 2) -> pd.DataFrame:
    end = max(w[1] for w in windows)
    start = min(w[0] for w in windows)
    ev = pd.read_parquet(events_parquet, filters=[("ts", ">=", pd.Timestamp(baseline_start)),
                                                  ("ts", "<", pd.Timestamp(end))])
    ev = ev[ev["account_id"].isin(compromised)].copy()
    for c in ("src_ip", "user_agent"):
        ev[c + "_k"] = ev[c].fillna("\x00")
    ev = ev.sort_values(["account_id", "src_ip_k", "user_agent_k", "ts", "event_key"], kind="stable")
    grp = ev.groupby(["account_id", "src_ip_k", "user_agent_k"], sort=False)
    prev = grp["ts"].shift(1)
    ev["new_run"] = (prev.isna() | ((ev["ts"] - prev) >= pd.Timedelta(minutes=gap_minutes))).astype("int64")
    ev["run_no"] = ev.groupby(["account_id", "src_ip_k", "user_agent_k"], sort=False)["new_run"].cumsum()
    derived = ("derived:" + ev["account_id"] + "|" + ev["src_ip_k"] + "|" + ev["user_agent_k"] + "|"
               + ev["run_no"].astype(str))
    ev["session_key"] = ("log:" + ev["session_id"]).where(ev["session_id"].notna(), derived)
    ev["segment_key"] = ev["session_key"] + "/" + ev["src_ip"].fillna("-") + "/" + ev["user_agent"].fillna("-")
    first_rows = ev.sort_values(["ts", "event_key"], kind="stable").drop_duplicates(["account_id", "session_key"])
    starts = first_rows[["account_id", "session_key", "src_ip", "user_agent"]].rename(
        columns={"src_ip": "session_ip", "user_agent": "session_ua"})
    ev = ev.merge(starts, on=["account_id", "session_key"], how="left")
    in_win = pd.Series(False, index=ev.index)
    for a, b in windows:
        in_win |= (ev["ts"] >= pd.Timestamp(a)) & (ev["ts"] < pd.Timestamp(b))
    ev["in_window"] = in_win
    segments = ev.loc[ev["in_window"], ["account_id", "segment_key"]].drop_duplicates()
    base = ev[ev["ts"] < pd.Timestamp(start)].assign(day=lambda d: d["ts"].dt.tz_convert("UTC").dt.date)

    def usual(column: str, flag: str) -> pd.DataFrame:  # used on usual_min_days different days of the baseline
        days = base.dropna(subset=[column]).groupby(["account_id", column])["day"].nunique().reset_index()
        return days[days["day"] >= usual_min_days][["account_id", column]].assign(**{flag: True})

    bips, buas = usual("src_ip", "ip_known"), usual("user_agent", "ua_known")
    se = (ev.merge(segments, on=["account_id", "segment_key"])
          .merge(accounts[["account_id", "active_until"]], on="account_id", how="left")
          .merge(bips, on=["account_id", "src_ip"], how="left")
          .merge(buas, on=["account_id", "user_agent"], how="left")
          .merge(bips.rename(columns={"src_ip": "session_ip", "ip_known": "sip_known"}),
                 on=["account_id", "session_ip"], how="left")
          .merge(buas.rename(columns={"user_agent": "session_ua", "ua_known": "sua_known"}),
                 on=["account_id", "session_ua"], how="left"))
    se["departed"] = se["active_until"].notna() & (se["ts"] >= se["active_until"])
    se["ind_ip"] = se["src_ip"].isin(list(ip_indicators))
    se["ind_ua"] = se["user_agent"].isin(list(client_indicators))
    se["new_ip"] = se["src_ip"].notna() & se["ip_known"].isna()
    se["new_ua"] = se["user_agent"].notna() & se["ua_known"].isna()
    se["usual_ip"] = se["src_ip"].isna() | se["ip_known"].notna()
    se["usual_ua"] = se["user_agent"].isna() | se["ua_known"].notna()
    se["identified"] = se["src_ip"].notna() | se["user_agent"].notna()
    began_usual = ((se["session_ip"].isna() | se["sip_known"].notna())
                   & (se["session_ua"].isna() | se["sua_known"].notna()))
    se["replayed"] = (began_usual & se["src_ip"].notna() & (se["src_ip"] != se["session_ip"].fillna(""))
                      & se["ip_known"].isna())
    per = se.groupby(["account_id", "segment_key"]).agg(
        departed=("departed", "any"), ind_ip=("ind_ip", "any"), ind_ua=("ind_ua", "any"), new_ip=("new_ip", "any"),
        new_ua=("new_ua", "any"), usual_ip=("usual_ip", "all"), usual_ua=("usual_ua", "all"),
        identified=("identified", "any"), replayed=("replayed", "any")).reset_index()
    attacker = (per["departed"] | per["ind_ip"] | per["ind_ua"] | (per["new_ip"] & per["new_ua"])
                | per["replayed"])
    owner = per["usual_ip"] & per["usual_ua"] & per["identified"]
    per["verdict"] = "undetermined"
    per.loc[owner, "verdict"] = "owner"
    per.loc[attacker, "verdict"] = "attacker"
    counted = per[(per["verdict"] == "attacker") | ((per["verdict"] == "undetermined") & count_undetermined)]
    acc = ev[ev["in_window"] & ev["patient_id"].notna() & ~ev["action"].isin(AUTH)].merge(
        counted[["account_id", "segment_key", "verdict"]], on=["account_id", "segment_key"])
    acc = acc[acc["outcome"] != "failure"].copy()
    acc["level"] = acc["action"].map(LEVEL).fillna(2).astype(int)
    acc.loc[(acc["level"] < COPY_LEVEL) & (acc["category"] == LIST_CATEGORY), "level"] = 1
    acc["modifies"] = acc["action"].isin(list(MODIFYING))
    acc["is_attacker"] = acc["verdict"] == "attacker"
    g = acc.groupby("patient_id")
    out = pd.DataFrame({
        "exposure": g["level"].max().map({1: "listed", 2: "opened", 3: "copied"}),
        "modified": g["modifies"].any(),
        "actions": g["action"].agg(lambda s: "|".join(sorted(set(s)))),
        "categories": g["category"].agg(lambda s: "|".join(sorted(set(s)))),
        "first": g["ts"].min(), "last": g["ts"].max(),
        "accounts": g["account_id"].agg(lambda s: "|".join(sorted(set(s)))),
        "n_accesses": g.size(),
        "attribution": g["is_attacker"].any().map({True: "attacker", False: "undetermined"}),
    }).reset_index()
    out = out.merge(patients, on="patient_id", how="left")
    out["first_access_utc"] = _pd_fmt(out["first"])
    out["last_access_utc"] = _pd_fmt(out["last"])
    return out[COLUMNS].sort_values(["practice_id", "patient_id"]).reset_index(drop=True)
