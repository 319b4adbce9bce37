"""Which evidence files an ingest reads, skips or reads again, and why.

A file is known by its SHA-256. One the store has never seen is read; one it holds is skipped, unless the
definition of its source in case.toml changed since it was read (its `source_sha256` differs: a corrected
`ts_format`, a new value map) or `--force` is given: then it is read again, its rows replaced in the same
transaction. Files whose duplicates or conflicts point at a file read again are read again too (the closure),
so that every judgement is made on the lines as they are now.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import CaseConfig, Source, source_digest
from .errors import ConfigError, IntegrityError
from .evidence import display_path, expand, sha256_file, stat_signature
from .store import Runner

MAPPING_CHANGED = "re-read: mapping changed"
FORCED = "re-read: --force"
DEPENDS = "re-read: its duplicates or conflicts point at a re-read file"


@dataclass
class Planned:
    source: Source
    path: Path
    shown: str
    sha256: str
    size: int
    source_sha256: str
    status: str  # "loaded", a re-read reason, or why it is skipped
    read: bool
    signature: tuple[int, int] = (0, 0)  # size and mtime before hashing: the file must not change until read


@dataclass
class Plan:
    files: list[Planned]

    @property
    def to_read(self) -> list[Planned]:
        return [f for f in self.files if f.read]

    @property
    def reread_ids(self) -> list[str]:
        return [f.sha256[:16] for f in self.files if f.read and f.status.startswith("re-read")]



def make(runner: Runner, cfg: CaseConfig, chosen: list[Source], *, force: bool) -> Plan:
    """Expand every chosen source's globs (each must match), hash every file and decide what to read."""
    rows = runner.execute("ingest_registered", "SELECT sha256, source, source_sha256, path FROM evidence "
                                               "WHERE kind = 'log'")
    registered = {r[0]: (r[1], r[2], r[3]) for r in rows}
    names = {s.name for s in cfg.sources}
    planned: list[Planned] = []
    first_seen: dict[str, str] = {}
    for src in chosen:
        digest = source_digest(src, cfg.root)
        for file in expand(cfg.root, src.files, where=f"[sources.{src.name}]", follow_symlinks=src.follow_symlinks):
            signature = stat_signature(file)
            sha, size = sha256_file(file)
            shown = display_path(cfg.root, file)
            status, read = "loaded", True
            if sha in first_seen:
                status, read = f"same content as {first_seen[sha]}: read once", False
            elif sha in registered:
                source, recorded, path = registered[sha]
                if source != src.name and source not in names:
                    status = f"re-read: ingested for [sources.{source}], which case.toml no longer defines"
                elif source != src.name:
                    status, read = f"already ingested by [sources.{source}] (same SHA-256)", False
                elif force:
                    status = FORCED
                elif recorded != digest:
                    status = MAPPING_CHANGED
                else:
                    status, read = "already ingested (same SHA-256)" + (
                        "" if path == shown else f" as {path}"), False
            first_seen.setdefault(sha, shown)
            planned.append(Planned(src, file, shown, sha, size, digest, status, read, signature))
    plan = Plan(planned)
    _close(runner, cfg, plan)
    return plan


def _close(runner: Runner, cfg: CaseConfig, plan: Plan) -> None:
    """Add the files whose duplicates or conflicts point at a file read again (transitively)."""
    ids = plan.reread_ids
    if not ids:
        return
    extra = [r[0] for r in runner.run("ingest_closure", source_ids=ids)]
    by_id = {f.sha256[:16]: f for f in plan.files}
    for source_id in extra:
        if source_id in by_id:  # matched by a chosen source but skipped: read it again
            f = by_id[source_id]
            f.status, f.read = DEPENDS, True
            continue
        row = runner.execute("ingest_dependent", "SELECT source, path, sha256 FROM evidence WHERE source_id = $id",
                             {"id": source_id})
        if not row:  # pragma: no cover - the closure reads the same tables
            continue
        name, rel, sha = row[0]
        try:
            src = cfg.source(name)
        except ConfigError as exc:
            raise ConfigError(f"{rel} was ingested for [sources.{name}], which case.toml no longer defines, and "
                              f"must be read again with the files it depends on", hint="restore that source, or "
                              "ingest into a new case") from exc
        path = Path(rel) if Path(rel).is_absolute() else cfg.root / rel
        signature = stat_signature(path) if path.is_file() else (0, 0)
        actual = sha256_file(path)[0] if path.is_file() else None
        if actual != sha:
            raise IntegrityError(f"{rel} must be read again (its duplicates or conflicts point at a file read "
                                 f"again) but it is {'missing' if actual is None else 'changed'}",
                                 hint="restore it from the acquisition copy, then ingest again")
        plan.files.append(Planned(src, path, display_path(cfg.root, path), sha, path.stat().st_size,
                                  source_digest(src, cfg.root), DEPENDS, True, signature))
