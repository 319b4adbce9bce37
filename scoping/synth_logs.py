"""Rendering synthetic events as the logs real vendors produce, dirt included.

- the web application's audit export: CSV, local time *without* offset (Europe/Paris), one id per
  line, several patients joined with ';' for searches and exports; rotated on 1 November, the second
  file repeating the last lines of the first;
- the API gateway: gzip JSON lines, web-server timestamps with offset (`10/Nov/2025:19:02:11.123 +0100`),
  method + URL path + status and the session id; the patients of a search results page (`&page=2`…) or
  of an exported list in a top-level JSON array `results`; now and then a path written with a trailing
  slash or a query string (`/api/v1/patients/P2/`, `/api/v1/patients/P3?fields=all`); rotated on
  5 November with the same overlap.
Malformed lines are *added* (truncated copies, garbage, invalid UTF-8, empty lines), never put in
place of an event, and every one is counted for the truth.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import numpy as np
import polars as pl

from .synth_activity import CODES, _local_midnight_us
from .synth_world import SHUTDOWN, TZ

ROTATION_OVERLAP = 20
CSV_HEADER = b"log_id,timestamp,user,ip,user_agent,action,patient,result\n"

_PATHS = {
    "LOGIN": ("POST", "/api/v1/auth/login"), "LOGIN_FAILED": ("POST", "/api/v1/auth/login"),
    "LOGOUT": ("POST", "/api/v1/auth/logout"), "SEARCH_PATIENT": ("GET", "/api/v1/patients?q={q}"),
    "OPEN_SUMMARY": ("GET", "/api/v1/patients/{p}"), "OPEN_NOTE": ("GET", "/api/v1/patients/{p}/notes"),
    "OPEN_PRESCRIPTION": ("GET", "/api/v1/patients/{p}/prescriptions"),
    "OPEN_LAB": ("GET", "/api/v1/patients/{p}/labs"),
    "DOWNLOAD_DOC": ("GET", "/api/v1/patients/{p}/documents/{d}"),
    "PRINT_RECORD": ("GET", "/api/v1/patients/{p}/print"), "EXPORT_LIST": ("POST", "/api/v1/exports"),
    "EDIT_NOTE": ("PUT", "/api/v1/patients/{p}/notes/{d}"),
    "NEW_PRESCRIPTION": ("POST", "/api/v1/patients/{p}/prescriptions"),
    "SEND_REMINDER": ("POST", "/api/v1/patients/{p}/reminders"),
    "OPEN_APPOINTMENTS": ("GET", "/api/v1/patients/{p}/appointments"),
    "OPEN_CONTACT": ("GET", "/api/v1/patients/{p}/contact"),
}


@dataclass
class FileStats:
    path: str
    lines: int = 0            # data lines, header excluded
    events: int = 0
    duplicates: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    dst_ambiguous: int = 0


def _monthly(start: date, prefix: str, suffix: str) -> list[tuple[str, int]]:
    """One file per month from `start` to the shutdown, named by month; the first opens with the logs."""
    months, day = [], start.replace(day=1)
    while day <= SHUTDOWN.date():
        months.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return [(f"{prefix}{m:%Y-%m}{suffix}", 0 if i == 0 else _local_midnight_us(m)) for i, m in enumerate(months)]


def gateway_rotations(start: date) -> list[tuple[str, int]]:
    """The gateway's files, numbered: one per month before November, then one from 5 November; numbers of as many
    digits as the last one's, so that the files' names sort in their order (gateway-01 … gateway-14)."""
    cuts = [m for _, m in _monthly(start, "", "")[1:] if m < _local_midnight_us(date(2025, 11, 1))]
    starts = [0, *cuts, _local_midnight_us(date(2025, 11, 5))]
    width = len(str(len(starts)))
    return [(f"gateway-{i + 1:0{width}d}.jsonl.gz", at) for i, at in enumerate(starts)]


def web_rotations(start: date) -> list[tuple[str, int]]:
    """The web application's files: one per month (webapp-2025-10.csv, ...)."""
    return _monthly(start, "webapp-", ".csv")


class RotatingLog:
    """Writes one channel's lines into dated files, with rotation overlap and counted dirt."""

    def __init__(self, folder: Path, names: list[tuple[str, int]], *, gz: bool, header: bytes | None,
                 rng: np.random.Generator, dirt_rate: float) -> None:
        self.folder, self.names, self.gz, self.header = folder, names, gz, header
        self.rng, self.dirt_rate = rng, dirt_rate
        self.index = -1
        self.fh: BinaryIO | None = None
        self.raw: BinaryIO | None = None
        self.tail: list[bytes] = []
        self.stats: list[FileStats] = []

    def _open_next(self) -> None:
        self.close()
        self.index += 1
        name = self.names[self.index][0]
        path = self.folder / name
        self.raw = path.open("wb")
        # mtime=0 and no file name in the header: the same world gives the same bytes
        self.fh = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0, compresslevel=1) \
            if self.gz else self.raw  # type: ignore[assignment]
        self.stats.append(FileStats(path=f"logs/{name}"))
        if self.header:
            self.fh.write(self.header)  # type: ignore[union-attr]
        if self.index > 0 and self.tail:   # the rotated file starts by repeating the last lines
            self.fh.write(b"\n".join(self.tail) + b"\n")  # type: ignore[union-attr]
            self.stats[-1].lines += len(self.tail)
            self.stats[-1].duplicates += len(self.tail)

    def write(self, day_us: int, lines: list[bytes], dst_flags: int = 0) -> None:
        while self.index < 0 or (self.index + 1 < len(self.names) and day_us >= self.names[self.index + 1][1]):
            self._open_next()
        st = self.stats[-1]
        out = list(lines)
        n_dirty = int(self.rng.binomial(len(lines), self.dirt_rate)) if lines else 0
        for _ in range(n_dirty):
            kind, line = self._dirt(out)
            pos = int(self.rng.integers(0, len(out) + 1))
            out.insert(pos, line)
            st.malformed[kind] = st.malformed.get(kind, 0) + 1
        self.fh.write(b"\n".join(out) + b"\n")  # type: ignore[union-attr]
        st.lines += len(out)
        st.events += len(lines)
        st.dst_ambiguous += dst_flags
        self.tail = (self.tail + lines)[-ROTATION_OVERLAP:]

    def _dirt(self, lines: list[bytes]) -> tuple[str, bytes]:
        r = int(self.rng.integers(0, 4))
        if r == 0:
            src = lines[int(self.rng.integers(0, len(lines)))]
            return "truncated", self._truncate(src)
        if r == 1:
            return "garbage", b"### export interrupted: connection reset ###" if not self.gz else b'["heartbeat"]'
        if r == 2:
            return "invalid_utf8", b"\xff\xfe\x00broken \xc3\x28 record"
        return "empty", b""

    def _truncate(self, line: bytes) -> bytes:
        if self.gz:   # cut inside the JSON object: never parseable
            return line[: max(5, len(line) // 2)]
        cut = [i for i, c in enumerate(line) if c == ord(",")][:2]
        return line[: cut[-1]] if cut else line[:3]

    def close(self) -> None:
        if self.fh is not None and self.fh is not self.raw:
            self.fh.close()
        if self.raw is not None:
            self.raw.close()
        self.fh = self.raw = None


def _code_col(name: str) -> pl.Expr:
    return pl.col("code").replace_strict(list(range(len(CODES))), [c[0] for c in CODES], return_dtype=pl.String) \
        .alias(name)


def web_lines(df: pl.DataFrame, first_id: int) -> tuple[list[bytes], int]:
    """CSV lines of the web application's audit export; returns lines and DST-ambiguous count."""
    local = pl.from_epoch(pl.col("ts_us"), time_unit="us").dt.replace_time_zone("UTC").dt.convert_time_zone(
        "Europe/Paris")
    out = df.select(
        (pl.int_range(0, pl.len()) + first_id).alias("log_id"),
        local.dt.strftime("%Y-%m-%d %H:%M:%S").alias("timestamp"),
        pl.col("account_id").alias("user"), "ip", pl.col("ua").alias("user_agent"),
        _code_col("action"),
        pl.col("patients").list.join(";").alias("patient"),
        pl.when(pl.col("outcome") == "success").then(pl.lit("OK")).otherwise(pl.lit("DENIED")).alias("result"),
    )
    buf = io.BytesIO()
    out.write_csv(buf, include_header=False, line_terminator="\n")
    text = buf.getvalue()
    lines = text.split(b"\n")[:-1] if text else []
    ambiguous = _dst_ambiguous(df["ts_us"].to_numpy())
    return lines, ambiguous


def _dst_ambiguous(ts_us: np.ndarray) -> int:
    """How many instants show a local wall time that happens twice (the night clocks go back)."""
    count = 0
    for u in np.unique(ts_us // 3_600_000_000):   # one check per hour, not per event
        t = datetime.fromtimestamp(int(u) * 3600, UTC).astimezone(TZ).replace(tzinfo=None)
        a, b = t.replace(tzinfo=TZ, fold=0), t.replace(tzinfo=TZ, fold=1)
        if a.utcoffset() != b.utcoffset():
            count += int(np.sum(ts_us // 3_600_000_000 == u))
    return count


def api_lines(df: pl.DataFrame, first_id: int) -> list[bytes]:
    """JSON lines of the API gateway (one request each)."""
    code = _code_col("c")
    method = code.replace_strict({k: v[0] for k, v in _PATHS.items()}, return_dtype=pl.String)
    template = code.replace_strict({k: v[1] for k, v in _PATHS.items()}, return_dtype=pl.String)
    first_patient = pl.col("patients").list.first().fill_null("")
    doc = (pl.col("ts_us") % 100000).cast(pl.String)
    base = (template.str.replace("{p}", first_patient, literal=True).str.replace("{d}", pl.format("d{}", doc),
            literal=True).str.replace("{q}", pl.format("n{}", pl.col("ref").cast(pl.String)), literal=True))
    base = pl.when(pl.col("page") > 1).then(pl.format("{}&page={}", base, pl.col("page"))).otherwise(base)
    # how the client wrote the path: with a trailing slash (before any query string), or with a query string
    auth = code.is_in(["LOGIN", "LOGIN_FAILED", "LOGOUT"])
    slashed = pl.when(base.str.contains("?", literal=True)).then(base.str.replace("?", "/?", literal=True)) \
        .otherwise(base + "/")
    query = pl.when(code.is_in(["OPEN_SUMMARY", "PRINT_RECORD"])).then(pl.lit("fields=all")) \
        .otherwise(pl.format("_={}", (pl.col("ts_us") // 1000).cast(pl.String)))
    queried = pl.when(base.str.contains("?", literal=True)).then(pl.format("{}&{}", base, query)) \
        .otherwise(pl.format("{}?{}", base, query))
    path = (pl.when(auth).then(base).when(pl.col("variant") == 1).then(slashed)
            .when(pl.col("variant") == 2).then(queried).otherwise(base))
    # refused: a wrong password, or a request whose session has ended, is 401 (not authenticated);
    # anything else 403 (not allowed)
    unauthenticated = (code == "LOGIN_FAILED") | (pl.col("outcome") == "expired")
    status = (pl.when(pl.col("outcome") == "success")
              .then(pl.when(method == "POST").then(pl.lit(201)).otherwise(pl.lit(200)))
              .otherwise(pl.when(unauthenticated).then(pl.lit(401)).otherwise(pl.lit(403))))
    local = pl.from_epoch(pl.col("ts_us"), time_unit="us").dt.replace_time_zone("UTC").dt.convert_time_zone(
        "Europe/Paris")
    named_list = code.is_in(["SEARCH_PATIENT", "EXPORT_LIST"])
    rec = df.select(pl.struct(
        pl.format("r{}", (pl.int_range(0, pl.len()) + first_id).cast(pl.String).str.zfill(9)).alias("request_id"),
        local.dt.strftime("%d/%b/%Y:%H:%M:%S%.3f %z").alias("time"),
        method.alias("method"), path.alias("path"), status.alias("status"),
        pl.col("account_id").alias("user"), pl.col("ip").alias("client_ip"), pl.col("ua").alias("user_agent"),
        pl.col("session").alias("session"),
        pl.when(named_list).then(pl.col("patients")).otherwise(pl.lit(None, dtype=pl.List(pl.String)))
        .alias("results"),
    ).struct.json_encode().alias("line"))
    return [s.encode() for s in rec["line"].to_list()]
