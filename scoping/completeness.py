"""Evidence complete before scope: what case.toml names now is what the store holds.

`check_evidence_complete` expands every source glob again and hashes what it finds (a file is known by its
SHA-256, so a renamed file is the same evidence), then names every file at fault: one a source matches that was
never ingested, one ingested that changed or is missing, one read with another definition of its source (or
other read settings: `[case] max_line_bytes`) than case.toml gives now, one ingested that case.toml no longer
names (narrowed globs, or a source it no longer defines: `scoping ingest` removes its rows), and a reference
table other than the one ingested. The hints say what `scoping ingest` does about each, so that following them
never loops.
"""

from __future__ import annotations

from pathlib import Path

from .config import CaseConfig, read_settings, settings_change, source_digest
from .errors import InputError, IntegrityError
from .evidence import display_path, expand, names, sha256_file
from .store import Runner


def _registered(runner: Runner) -> list[tuple[str, str, str, str, str | None, str | None]]:
    rows = runner.execute("evidence_registered", """
        SELECT kind, source, path, sha256, source_sha256, read_settings FROM evidence
        WHERE NOT starts_with(status, 'superseded') ORDER BY kind, path""")
    return [(str(k), str(s), str(p), str(h), d, r) for k, s, p, h, d, r in rows]


def check_evidence_complete(runner: Runner, cfg: CaseConfig) -> int:
    """Before scope: every file the sources match is ingested, every ingested file is still there unchanged (by
    content: a renamed file is the same evidence), each was read with the source definition case.toml gives
    now, and each reference table is the one case.toml names. Raises IntegrityError naming every file at fault;
    returns the number of files checked."""
    registered = _registered(runner)
    by_sha = {sha: (kind, source, path, digest, settings) for kind, source, path, sha, digest, settings in registered}
    log_paths = {path for kind, _, path, _, _, _ in registered if kind == "log"}
    settings = read_settings(cfg)
    problems: list[str] = []
    seen: dict[Path, str] = {}
    found: set[str] = set()

    def digest_of(path: Path) -> str:
        if path not in seen:
            seen[path] = sha256_file(path)[0]
        return seen[path]

    for src in cfg.sources:
        current = source_digest(src, cfg.root)
        try:
            files = expand(cfg.root, src.files, where=f"[sources.{src.name}]", follow_symlinks=src.follow_symlinks)
        except InputError as exc:
            problems.append(exc.message)
            continue
        for file in files:
            sha = digest_of(file)
            found.add(sha)
            shown = display_path(cfg.root, file)
            if sha not in by_sha and shown in log_paths:
                continue  # an ingested file changed in place: reported below
            if sha not in by_sha:
                problems.append(f"{shown} matches [sources.{src.name}] but was never ingested")
            elif by_sha[sha][1] == src.name and by_sha[sha][3] != current:
                problems.append(f"{shown} was ingested with another definition of [sources.{src.name}] "
                                f"(case.toml changed since)")
            elif by_sha[sha][1] == src.name and (change := settings_change(by_sha[sha][4], settings)):
                problems.append(f"{shown} was read with other [case] settings than case.toml gives now ({change})")
    for ref in cfg.references:
        path = cfg.root / ref.file if not Path(ref.file).is_absolute() else Path(ref.file)
        if not path.is_file():
            problems.append(f"[reference.{ref.kind}] {ref.file} is missing")
            continue
        sha = digest_of(path)
        found.add(sha)
        if not any(kind == "reference" and source == f"reference.{ref.kind}" and h == sha
                   for kind, source, _, h, _, _ in registered):
            problems.append(f"[reference.{ref.kind}] {display_path(cfg.root, path)} differs from the table the "
                            f"store holds")
    defined = {src.name for src in cfg.sources}
    for kind, source, rel, sha, _, _ in registered:
        if kind == "log" and source not in defined:
            problems.append(f"{rel} was ingested for [sources.{source}], which case.toml no longer defines (its events "
                            f"are still in the store: `scoping ingest CASE` removes them)")
            continue
        if kind != "log" or sha in found:
            continue
        path = Path(rel) if Path(rel).is_absolute() else cfg.root / rel
        if not names(cfg.root, cfg.source(source).files, rel):
            problems.append(f"{rel} was ingested for [sources.{source}], whose files no longer name it (its events "
                            f"are still in the store: `scoping ingest CASE` removes them)")
        elif not path.is_file():
            problems.append(f"{rel} (ingested) is missing: restore it from the acquisition copy, or narrow "
                            f"[sources.{source}] files so that they no longer name it")
        elif digest_of(path) != sha:
            problems.append(f"{rel} (ingested) changed: its SHA-256 differs from the one recorded at ingest")
    if problems:
        raise IntegrityError("the evidence is not the evidence the store holds:\n  " + "\n  ".join(problems),
                             hint="run `scoping ingest CASE` to ingest new files, re-apply case.toml and remove the "
                                  "files it no longer names; restore a changed or missing file from the acquisition "
                                  "copy (or narrow the source's files so that they no longer name it)")
    return len(seen)
