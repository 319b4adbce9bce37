"""Which evidence files an ingest reads, skips or reads again, and why.

A file is known by its SHA-256. One the store has never seen is read; one it holds is skipped, unless the
definition of its source in case.toml changed since it was read (its `source_sha256` differs: a corrected
`ts_format`, a new value map) or `--force` is given: then it is read again, its rows replaced in the same
transaction. The case settings a file was read with (`read_settings`: `[case] max_line_bytes`) are recorded
with it too, and a change reads it again. Files whose duplicates or conflicts point at a file read again are
read again too (the closure), so that every judgement is made on the lines as they are now.

A file ingested earlier that the source's globs no longer name (narrowed `files`, or a source case.toml no
longer defines) leaves the store: its events, quarantined lines, duplicates and conflicts are removed in the
same transaction, and the ingest says so (the file itself is never touched). A file the globs still name but
that is gone is an error naming it: restore it, or narrow `files` so that it is no longer named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import CaseConfig, Source, read_settings, settings_change, source_digest
from .errors import ConfigError, IntegrityError
from .evidence import display_path, expand, names, sha256_file, stat_signature
from .store import Runner

MAPPING_CHANGED = "re-read: mapping changed"
FORCED = "re-read: --force"
DEPENDS = "re-read: its duplicates or conflicts point at a re-read file"
SETTINGS_CHANGED = "re-read: read settings changed"


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
class Removed:
    """A file ingested earlier that case.toml no longer names: its rows leave the store."""

    source: str
    path: str
    source_id: str
    why: str
    lines_read: int = 0
    events: int = 0
    quarantined: int = 0


@dataclass
class Plan:
    files: list[Planned]
    removed: list[Removed] = field(default_factory=list)

    @property
    def to_read(self) -> list[Planned]:
        return [f for f in self.files if f.read]

    @property
    def reread_ids(self) -> list[str]:
        return [f.sha256[:16] for f in self.files if f.read and f.status.startswith("re-read")]

    @property
    def replaced_ids(self) -> list[str]:
        """Every file whose stored rows go: those read again and those case.toml no longer names."""
        return self.reread_ids + [r.source_id for r in self.removed]


def make(runner: Runner, cfg: CaseConfig, chosen: list[Source], *, force: bool) -> Plan:
    """Expand every chosen source's globs (each must match), hash every file and decide what to read, and which
    files ingested earlier case.toml no longer names."""
    rows = runner.execute("ingest_registered", "SELECT sha256, source, source_sha256, path, read_settings, "
                                               "lines_read, events_loaded, quarantined FROM evidence "
                                               "WHERE kind = 'log'")
    registered = {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}
    names_defined = {s.name for s in cfg.sources}
    settings = read_settings(cfg)
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
                source, recorded, path, recorded_settings = registered[sha]
                change = settings_change(recorded_settings, settings)
                if source != src.name and source not in names_defined:
                    status = f"re-read: ingested for [sources.{source}], which case.toml no longer defines"
                elif source != src.name:
                    status, read = f"already ingested by [sources.{source}] (same SHA-256)", False
                elif force:
                    status = FORCED
                elif recorded != digest:
                    status = MAPPING_CHANGED
                elif change:
                    status = f"{SETTINGS_CHANGED} ({change})"
                else:
                    status, read = "already ingested (same SHA-256)" + (
                        "" if path == shown else f" as {path}"), False
            first_seen.setdefault(sha, shown)
            planned.append(Planned(src, file, shown, sha, size, digest, status, read, signature))
    plan = Plan(planned)
    _unnamed(cfg, chosen, plan, rows)
    _close(runner, cfg, plan)
    return plan


def _unnamed(cfg: CaseConfig, chosen: list[Source], plan: Plan, rows: list[tuple[Any, ...]]) -> None:
    """The files ingested for a chosen source (or, when every source is chosen, for a source case.toml no longer
    defines) that no glob matched now: removed when the globs no longer name them; an error when they do and the
    file is gone (restore it, or narrow the globs). A file ingested for one source and matched now by another
    only is read again for that one."""
    chosen_names = {s.name for s in chosen}
    every = chosen_names == {s.name for s in cfg.sources}
    matched = {(f.sha256, f.source.name) for f in plan.files}
    by_sha = {f.sha256: f for f in plan.files}
    missing = []
    for sha, source, _, path, _, lines, events, quarantined in rows:
        defined = source in {s.name for s in cfg.sources}
        if (sha, source) in matched or not (source in chosen_names or (every and not defined)):
            continue
        if defined and names(cfg.root, cfg.source(source).files, path):
            if not (Path(path) if Path(path).is_absolute() else cfg.root / path).exists():
                missing.append(f"{path} (ingested for [sources.{source}], whose files still name it)")
            continue  # there with other content: scope names it as changed since it was ingested
        why = f"[sources.{source}] files no longer name it" if defined else \
            f"[sources.{source}] is no longer defined"
        other = by_sha.get(sha)
        if other is not None:  # matched by another source now: read again for it
            if not other.read:
                other.status, other.read = f"re-read: {why}", True
            continue
        plan.removed.append(Removed(source, path, sha[:16], why, int(lines or 0), int(events or 0),
                                    int(quarantined or 0)))
    if missing:
        raise IntegrityError("ingested evidence is missing:\n  " + "\n  ".join(missing),
                             hint="restore it from the acquisition copy; or, if it was ingested by mistake, narrow "
                                  "the source's files in case.toml so that they no longer name it: the next "
                                  "`scoping ingest CASE` removes its events (the file itself is never touched)")


def _close(runner: Runner, cfg: CaseConfig, plan: Plan) -> None:
    """Add the files whose duplicates or conflicts point at a file read again (transitively)."""
    ids = plan.replaced_ids
    if not ids:
        return
    extra = [r[0] for r in runner.run("ingest_closure", source_ids=ids)]
    by_id = {f.sha256[:16]: f for f in plan.files}
    for source_id in extra:
        if source_id in {r.source_id for r in plan.removed}:
            continue  # leaves the store anyway
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
