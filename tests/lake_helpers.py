"""Helpers for the lake and Spark tests: a case attached to a lake, and the published files compared byte for byte."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from scoping import Case

COMPARED = ("affected_patients.csv", "attempted_patients.csv", "unassigned_patients.csv", "sessions.csv",
            "summary.json", "accesses.csv", "exposures.csv", "accounts.csv")


def published(folder: Path) -> dict[str, bytes]:
    """The lists, sessions and summary of an output set, by name."""
    out = folder / "out"
    files = {name: (out / name).read_bytes() for name in COMPARED}
    files.update({f"by_controller/{p.name}": p.read_bytes() for p in sorted((out / "by_controller").glob("*.csv"))})
    return files


def with_case_settings(folder: Path, text: str) -> None:
    """Add lines to [case] of a world's case.toml (and any table after it)."""
    toml = folder / "case.toml"
    body = toml.read_text()
    case_lines, tables = ([*text.split("\n\n", 1), ""])[:2]
    keys = {line.split("=")[0].strip() for line in case_lines.splitlines() if "=" in line}
    body = "\n".join(line for line in body.splitlines() if line.split("=")[0].strip() not in keys) + "\n"
    head, rest = body.split("[case]\n", 1)
    toml.write_text(head + "[case]\n" + case_lines.strip() + "\n" + rest + ("\n" + tables if tables else ""))


def attached_copy(world: Path, lake: Path, dst: Path, extra: str = "") -> Path:
    """A copy of a world's case folder without its store, reading `lake`."""
    shutil.copytree(world, dst, ignore=shutil.ignore_patterns("case.duckdb*", "out", ".duckdb-tmp", "lake"))
    rel = Path(os.path.relpath(lake, dst))
    with_case_settings(dst, f'lake = "{rel.as_posix()}"' + ("\n" + extra if extra else ""))
    return dst


def scope_and_publish(folder: Path) -> None:
    with Case.open(folder) as case:
        case.publish(case.scope())


def manifest_engine(folder: Path) -> dict:
    import json

    body = json.loads((folder / "out/manifest.json").read_text())
    (run,) = [r for r in body["runs"].values() if r["kind"] == "scope"]
    return run["engine"]


def no_machine_path(text: str) -> bool:
    return not re.search(r"/(tmp|home|work)/", text)


HOURS_QUERY = ("SELECT account_id, hour, src_ip, user_agent, source_id, sum(event_rows) AS n, sum(accesses) AS a, "
               "sum(copies) AS c, sum(refused) AS r FROM account_hours GROUP BY ALL ORDER BY ALL")


def lake_without_hours(world: Path, dst: Path) -> Path:
    """A copy of the world's lake as another tool might write it: no account_hours, and its marker says so."""
    shutil.copytree(world / "lake", dst)
    shutil.rmtree(dst / "account_hours")
    info = dst / "_lake.json"
    info.write_text(info.read_text().replace('"account_hours"', '"account_hours_gone"'))
    return dst
