"""`scoping ingest CASE --dry-run`: try the mapping on the first lines of every file, writing nothing.

The same reader and the same compiled statements as a real ingest run in a DuckDB database in memory (the case
store is not opened, so it is neither created nor changed). For each source the report says how many lines
were read and quarantined and why, how many lines each rule matched and which rules never did, which raw values
stayed unclassified, and what a few mapped lines look like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from .config import CaseConfig, Source
from .errors import ConfigError
from .evidence import display_path, expand
from .ingest_read import Batches, check_columns_present, read_into_pending
from .mapping import OBJECTS_FLAG
from .store import Runner, ensure_schema, load_macros_and_vocabulary, map_duckdb_error


@dataclass
class SourceTrial:
    """What the mapping of one source made of the first lines of its files."""

    source: str
    files: list[str] = field(default_factory=list)
    lines: int = 0
    quarantined: int = 0
    reasons: list[tuple[str, int, int, str]] = field(default_factory=list)  # reason, lines, first line, example
    rule_hits: list[tuple[str, int]] = field(default_factory=list)
    unmapped: list[tuple[str, str | None, int, int]] = field(default_factory=list)  # column, raw value, lines, named
    rows: list[dict[str, Any]] = field(default_factory=list)
    file_seqs: list[int] = field(default_factory=list)  # the number each file of `files` was read under
    warnings: list[str] = field(default_factory=list)

    @property
    def never_matched(self) -> list[str]:
        return [name for name, hits in self.rule_hits if hits == 0]


@dataclass
class DryRunReport:
    """What the mappings made of the first lines of each file: `summary()` (also what `print` shows) in words,
    `mapped()`, `rule_hits()` and `unmapped()` as tables."""

    sample: int
    sources: list[SourceTrial] = field(default_factory=list)

    def __str__(self) -> str:
        return self.summary()

    def mapped(self) -> pl.DataFrame:
        """A few mapped lines of each source, as ingest would store them (patients as the list a line names)."""
        rows = [{"source": s.source, "file": s.files[s.file_seqs.index(r["file_seq"])],
                 **{k: v for k, v in r.items() if k != "file_seq"}} for s in self.sources for r in s.rows]
        return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()

    def rule_hits(self) -> pl.DataFrame:
        """How many of the lines read each rule matched (a rule that never did is a rule to check)."""
        return pl.DataFrame([{"source": s.source, "rule": name, "lines": hits}
                             for s in self.sources for name, hits in s.rule_hits],
                            schema={"source": pl.String, "rule": pl.String, "lines": pl.Int64})

    def unmapped(self) -> pl.DataFrame:
        """Raw values the mapping left unclassified (action other, category or outcome unknown), with their lines."""
        return pl.DataFrame([{"source": s.source, "column": c, "raw_value": v, "lines": n, "naming_a_patient": named}
                             for s in self.sources for c, v, n, named in s.unmapped],
                            schema={"source": pl.String, "column": pl.String, "raw_value": pl.String,
                                    "lines": pl.Int64, "naming_a_patient": pl.Int64})

    def summary(self) -> str:
        out = [f"dry run: the first {self.sample:,} lines of each file; nothing was written"]
        for s in self.sources:
            share = f" ({s.quarantined / s.lines:.0%})" if s.lines else ""
            out.append(f"\n[sources.{s.source}] {len(s.files)} file(s), {s.lines:,} lines read, "
                       f"{s.quarantined:,} quarantined{share}")
            out.extend(f"  WARNING: {w}" for w in s.warnings)
            out.extend(f"  quarantined: {reason}: {_n(lines, 'line')} (first line {first}: {example!r})"
                       for reason, lines, first, example in s.reasons)
            if s.rule_hits:
                out.append("  rule hits: " + "; ".join(f"{name}: {hits:,}" for name, hits in s.rule_hits))
            if s.never_matched:
                out.append("  rules that never matched: " + ", ".join(s.never_matched))
            out.extend(f"  unmapped {column}: {raw if raw is not None else '(no raw value)'}: {_n(lines, 'line')}"
                       f"{f' ({named:,} naming a patient)' if named else ''}"
                       for column, raw, lines, named in s.unmapped)
            for row in s.rows:
                out.append("  line {source_line}: {ts} {account_id} {action} {category} patients={patients} "
                           "outcome={outcome} ip={src_ip} key={event_key}".format(**row))
        return "\n".join(out)


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' if count != 1 else ''}"


def _runner(cfg: CaseConfig) -> Runner:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET temp_directory = ''")  # nothing spills to disk either
    if cfg.memory_limit:  # a size checked by config.load ("2GB"): no quote can reach this statement
        con.execute(f"SET memory_limit = '{cfg.memory_limit}'")
    load_macros_and_vocabulary(con)
    runner = Runner(con)
    ensure_schema(runner)
    runner.run("ingest_staging")
    runner.execute("dryrun_hits_column", "ALTER TABLE ingest_pending ADD COLUMN rule_hits BOOLEAN[]")
    return runner


def dry_run(cfg: CaseConfig, *, sample: int = 1000, sources: list[str] | None = None,
            rows: int = 5, top: int = 10) -> DryRunReport:
    """Map the first `sample` lines of every file of the named sources (all by default); write nothing."""
    if not cfg.sources:
        raise ConfigError("case.toml defines no [sources]: there is no evidence to ingest",
                          hint="describe the log files under [sources.NAME] (see `scoping init`)")
    if sample < 1:
        raise ConfigError("--sample must be at least 1")
    runner = _runner(cfg)
    report = DryRunReport(sample)
    seq = 0
    try:
        for src in [cfg.source(n) for n in sources] if sources else cfg.sources:
            trial = SourceTrial(src.name)
            seqs = trial.file_seqs
            batches = []
            for file in expand(cfg.root, src.files, where=f"[sources.{src.name}]",
                               follow_symlinks=src.follow_symlinks):
                seq += 1
                seqs.append(seq)
                shown = display_path(cfg.root, file)
                trial.files.append(shown)
                batch = Batches(runner, cfg, src, f"trial-{seq}", shown, file, seq, diagnostics=True)
                read_into_pending(batch, progress=False, limit=sample)
                batches.append(batch)
            present = set().union(*(b.present for b in batches))
            names = set().union(*(b.keys | set(b.header or []) for b in batches))
            absent = check_columns_present(src, present, names, len(batches), sample=sample)
            _describe(runner, trial, seqs, [r.name for r in batch.mapped_src.rules] if seqs else [], rows, top)
            trial.warnings = absent + _literal_fields(src, names) + _list_objects(runner, seqs)
            report.sources.append(trial)
    except duckdb.Error as exc:
        raise map_duckdb_error(exc, "dry run") from exc
    finally:
        runner.con.close()
    return report


def _literal_fields(src: Source, names: set[str]) -> list[str]:
    """A rule's `set` value is a literal; one that is also a field name of the records was most likely meant as
    the field (`set = { patient_id = "results" }` makes every matching event the patient "results")."""
    return [f"rule {rule.name!r} sets {col} = \"{value}\", a literal, and \"{value}\" is also a field of the records: "
            f"to read the field, name it under [sources.{src.name}.columns] ({col} = \"{value}\")"
            for rule in src.rules for col, value in rule.set if value in names]


def _list_objects(runner: Runner, seqs: list[int]) -> list[str]:
    rows = runner.execute("dryrun_list_objects", """
        SELECT regexp_extract(record_flags, 'field (.*) ' || $flag, 1), count(*) FROM ingest_pending
        WHERE list_contains($seqs, file_seq) AND contains(record_flags, $flag) GROUP BY ALL ORDER BY ALL""",
                          {"seqs": seqs, "flag": OBJECTS_FLAG})
    return [f"field {fld} holds objects, in {_n(int(n), 'line')}: name the member holding the patient id "
            f"(patient_id = \"{fld}[].id\" when they are {{\"id\": ...}}); until then these lines name no patient"
            for fld, n in rows]


def _describe(runner: Runner, trial: SourceTrial, seqs: list[int], rules: list[str], rows: int, top: int) -> None:
    counted = runner.run("dryrun_lines", file_seqs=seqs)
    trial.lines = int(counted[0][1])
    trial.reasons = [(str(r), int(n), int(first), str(ex)) for r, n, first, ex in counted[1:]]
    trial.quarantined = sum(n for _, n, _, _ in trial.reasons)
    hits = runner.run("dryrun_rule_hits", file_seqs=seqs, rules=len(rules))
    trial.rule_hits = [(rules[int(i) - 1], int(n)) for i, n in hits]
    trial.unmapped = [(str(c), v, int(n), int(p)) for c, v, n, p in runner.run("dryrun_unmapped", file_seqs=seqs,
                                                                                top=top)]
    found = runner.run("dryrun_rows", file_seqs=seqs, n=rows)
    names = ["file_seq", "source_line", "ts", "account_id", "action", "category", "patients", "outcome", "src_ip",
             "event_key"]
    trial.rows = [dict(zip(names, r, strict=True)) for r in found]
