"""The manifest: what went in (evidence hashes), how (SQL hashes, parameters), what came out (hashes).

`manifest.json` carries its own digest (`manifest_sha256`, over the manifest without that field and
without the run time), so a changed byte anywhere is found by `scoping verify`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import IntegrityError
from .evidence import sha256_file
from .export import json_bytes, write_private

_VOLATILE = ("generated_at", "manifest_sha256")


def _digest(body: dict[str, Any]) -> str:
    stable = {k: v for k, v in body.items() if k not in _VOLATILE}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()


def write(out: Path, *, parameters: dict[str, Any], evidence: list[dict[str, Any]],
          sql: dict[str, str], outputs: dict[str, str], engine: dict[str, str],
          trace: list[dict[str, Any]] | None = None) -> Path:
    body: dict[str, Any] = {
        "tool": {"name": "scoping", "version": __version__, **engine},
        "parameters": parameters,
        "evidence": evidence,
        "sql": dict(sorted(sql.items())),
        "trace": trace or [],
        "outputs": dict(sorted(outputs.items())),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    body["manifest_sha256"] = _digest(body)
    path = out / "manifest.json"
    write_private(path, json_bytes(body))
    return path


@dataclass
class Verification:
    ok: bool
    problems: list[str]
    checked: int


def verify(case_root: Path, out: Path) -> Verification:
    """Re-hash every evidence file and output listed in the manifest; report each difference."""
    path = out / "manifest.json"
    if not path.is_file():
        raise IntegrityError(f"{path} not found", hint="run `scoping scope CASE` first")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{path} is not valid JSON: the manifest itself was altered") from exc
    problems = []
    if body.get("manifest_sha256") != _digest(body):
        problems.append("manifest.json: its own digest does not match its content (the manifest was edited)")
    checked = 0
    for ev in body.get("evidence", []):
        p = Path(ev["path"])
        p = p if p.is_absolute() else case_root / p
        checked += 1
        if not p.is_file():
            problems.append(f"evidence {ev['path']}: missing")
            continue
        sha, _ = sha256_file(p)
        if sha != ev["sha256"]:
            problems.append(f"evidence {ev['path']}: SHA-256 differs (recorded {ev['sha256'][:16]}…, "
                            f"now {sha[:16]}…)")
    for rel, recorded in body.get("outputs", {}).items():
        p = out / rel
        checked += 1
        if not p.is_file():
            problems.append(f"output {rel}: missing")
            continue
        sha, _ = sha256_file(p)
        if sha != recorded:
            problems.append(f"output {rel}: SHA-256 differs (recorded {recorded[:16]}…, now {sha[:16]}…)")
    return Verification(ok=not problems, problems=problems, checked=checked)
