"""The command line: a thin mirror of the library. Each command opens the case, calls one library
function and prints a short result; a ScopingError becomes a clean message and a distinct exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ._version import __version__
from .errors import ConfigError, InputError, ScopingError

Handler = Callable[[argparse.Namespace], int]


def _open(path: str):  # type: ignore[no-untyped-def]
    from .case import Case

    return Case.open(path)


def cmd_init(a: argparse.Namespace) -> int:
    from .case import Case

    case = Case.create(a.case)
    print(f"created {case.root / 'case.toml'}: describe your sources, reference tables and incident there")
    return 0


def cmd_ingest(a: argparse.Namespace) -> int:
    if a.dry_run:
        from .dryrun import dry_run

        case = _open(a.case)  # the store is not opened: a dry run creates and changes nothing
        print(dry_run(case.config, sample=a.sample or 1000, sources=a.sources or None).summary())
        return 0
    if a.sample is not None:
        raise ConfigError("--sample goes with --dry-run", hint="scoping ingest CASE --dry-run --sample 200")
    with _open(a.case) as case:
        report = case.ingest(a.sources or None, progress=None if not a.quiet else False, force=a.force)
    print(report.summary())
    return 0


def cmd_scope(a: argparse.Namespace) -> int:
    key = None
    if a.pseudonymise_key:
        try:
            key = Path(a.pseudonymise_key).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the key file {a.pseudonymise_key}: {exc.strerror or exc}") from exc
    with _open(a.case) as case:
        result = case.scope(count_undetermined=False if a.exclude_undetermined else None)
        out = result.export(Path(a.out) if a.out else None, pseudonymise_key=key)
        print(_scope_summary(result.summary, out))
    return 0


def _scope_summary(summary: dict, out: Path) -> str:  # type: ignore[type-arg]
    c = summary["counts"]
    return "\n".join([
        f"affected patients: {c['patients_affected']:,} across {c['controllers_affected']:,} practices "
        f"(listed {c['exposure_listed']:,}, opened {c['exposure_opened']:,}, copied {c['exposure_copied']:,}; "
        f"modified {c['patients_modified']:,})",
        f"attempted only:    {c['patients_attempted_only']:,}",
        f"sessions:          {c['sessions_attacker']:,} attacker, {c['sessions_undetermined']:,} undetermined, "
        f"{c['sessions_owner']:,} owner",
        f"attacker activity: {c['first_attacker_activity_utc']} → {c['last_attacker_activity_utc']}",
        f"outputs:           {out}",
    ])


def cmd_run(a: argparse.Namespace) -> int:
    from .notify import write_kits
    from .report import write_report

    with _open(a.case) as case:
        report = case.ingest(progress=None if not a.quiet else False)
        print(report.summary())
        result = case.scope()
        out = result.export()
        print(_scope_summary(result.summary, out))
        kits = write_kits(case, result, lang=a.lang)
        print(f"notification kits: {kits} (one folder per practice)")
        print(f"report:            {write_report(case, result)}")
    return 0


def cmd_notify(a: argparse.Namespace) -> int:
    from .notify import write_kits

    with _open(a.case) as case:
        result = case.scope()
        result.export()
        kits = write_kits(case, result, lang=a.lang, practices=a.practice or None,
                          directory=Path(a.directory) if a.directory else None,
                          include_attempted=a.include_attempted)
        print(f"notification kits: {kits}")
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    from .report import write_report

    with _open(a.case) as case:
        result = case.scope()
        result.export()
        print(f"report: {write_report(case, result)}")
    return 0


def cmd_verify(a: argparse.Namespace) -> int:
    from . import manifest

    with _open(a.case) as case:
        root = case.root
    v = manifest.verify(root, root / "out")
    for p in v.problems:
        print(f"CHANGED  {p}")
    print(f"{v.checked} files checked: " + ("all match the manifest" if v.ok else f"{len(v.problems)} differ"))
    return 0 if v.ok else 5


def cmd_synth(a: argparse.Namespace) -> int:
    from .synth import SynthOptions, synthesize

    world = synthesize(Path(a.dir), SynthOptions(scale=a.scale, seed=a.seed, formats=tuple(a.formats.split(","))))
    print(world.describe())
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from .synth import SynthOptions, synthesize

    folder = Path(a.dir)
    world = synthesize(folder, SynthOptions(scale=a.scale, seed=a.seed))
    print(world.describe())
    ns = argparse.Namespace(case=str(folder), quiet=False, lang=a.lang)
    code = cmd_run(ns)
    print(_compare_with_truth(folder))
    return code


def _compare_with_truth(folder: Path) -> str:
    """On a synthetic world, say whether the affected list equals the ground truth the generator wrote."""
    import polars as pl

    key = ["practice_id", "patient_id"]
    truth = pl.read_csv(folder / "truth" / "affected_patients.csv", infer_schema=False)
    out = pl.read_csv(folder / "out" / "affected_patients.csv", infer_schema=False)
    missing = truth.join(out, on=key, how="anti").height
    extra = out.join(truth, on=key, how="anti").height
    verdict = "yes" if missing == extra == 0 else f"NO ({missing} missing, {extra} extra)"
    return f"matches the synthetic ground truth (truth/affected_patients.csv): {verdict}, {truth.height:,} rows"


def cmd_discover(a: argparse.Namespace) -> int:
    from .discover import discover

    with _open(a.case) as case:
        found = discover(case, since=a.since, until=a.until)
        out = found.write(case.root / "out", write_incident=a.write_incident)
        print(found.describe())
        print(f"written: {out}")
    return 0


def cmd_queries(a: argparse.Namespace) -> int:
    from . import queries

    if a.show:
        print(queries.get(a.show).text, end="")
        return 0
    for q in queries.all_queries():
        print(f"{q.name:32} {q.question}")
    return 0


COMMANDS: dict[str, tuple[Handler, str, str]] = {
    "init": (cmd_init, "create a case folder with a commented case.toml", "scoping init cases/weda-2025"),
    "ingest": (cmd_ingest, "load the sources named in case.toml (all by default)", "scoping ingest CASE gateway"),
    "discover": (cmd_discover, "rank accounts and sessions that look compromised, with reasons",
                 "scoping discover CASE --write-incident"),
    "scope": (cmd_scope, "attribute sessions, compute exposures, write CASE/out/", "scoping scope CASE"),
    "notify": (cmd_notify, "per-practice notification kits: letters, mail-merge files, regulator sheet",
               "scoping notify CASE --lang fr --directory patients.csv"),
    "report": (cmd_report, "figures and out/report.html", "scoping report CASE"),
    "run": (cmd_run, "ingest + scope + report from case.toml", "scoping run CASE"),
    "verify": (cmd_verify, "re-hash evidence and outputs against out/manifest.json", "scoping verify CASE"),
    "synth": (cmd_synth, "write a synthetic breach world with its ground truth and case.toml",
              "scoping synth worlds/small --scale 1 --seed 7"),
    "demo": (cmd_demo, "synth + run, then print where the report is", "scoping demo demo"),
    "queries": (cmd_queries, "list every shipped SQL query with its question", "scoping queries --show scope_sessions"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scoping", description="Whose medical records were touched, by which "
                                     "account, how and when.")
    parser.add_argument("--version", action="version", version=f"scoping {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text, example) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=f"example: {example}")
        if name in ("init", "ingest", "discover", "scope", "notify", "report", "run", "verify"):
            p.add_argument("case", metavar="CASE", help="the case folder")
        if name == "ingest":
            p.add_argument("sources", nargs="*", metavar="SOURCE", help="source names (default: all)")
            p.add_argument("--force", action="store_true",
                           help="read every file again, even those already ingested with the same mapping")
            p.add_argument("--dry-run", action="store_true",
                           help="apply the mapping to the first lines of each file and show what it makes of them "
                                "(rule hits, unmapped values, quarantine reasons, mapped rows); writes nothing")
            p.add_argument("--sample", type=int, default=None, metavar="N",
                           help="with --dry-run: how many lines of each file (default 1000)")
        if name in ("ingest", "run"):
            p.add_argument("--quiet", action="store_true", help="no progress bar")
        if name in ("notify", "run", "demo"):
            p.add_argument("--lang", choices=("fr", "en"), default="fr", help="language of the letters (default fr)")
        if name == "notify":
            p.add_argument("--practice", action="append", metavar="ID", help="only this practice (repeatable)")
            p.add_argument("--directory", metavar="FILE",
                           help="the practice's patient directory (CSV with patient_id, name, address…)")
            p.add_argument("--include-attempted", action="store_true",
                           help="also put attempted-only patients in the mail-merge files")
        if name == "scope":
            p.add_argument("--exclude-undetermined", action="store_true",
                           help="do not count undetermined sessions as affected (they are by default)")
            p.add_argument("--out", metavar="DIR", help="write the outputs here instead of CASE/out")
            p.add_argument("--pseudonymise-key", metavar="KEYFILE",
                           help="replace patient ids by a keyed hash (HMAC-SHA256) in every output; the key file "
                                "(16+ random bytes) is never copied into the outputs")
        if name == "discover":
            p.add_argument("--from", dest="since", help="start of the period examined (ISO 8601)")
            p.add_argument("--to", dest="until", help="end of the period examined (ISO 8601)")
            p.add_argument("--write-incident", action="store_true",
                           help="write out/proposed_incident.toml for the analyst to review")
        if name in ("synth", "demo"):
            p.add_argument("dir", metavar="DIR", nargs="?" if name == "demo" else None,
                           default="demo" if name == "demo" else None, help="folder to write the world into")
            p.add_argument("--scale", type=float, default=1.0,
                           help="size of the world (1 = about 50,000 events, 30 practices)")
            p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same world)")
            if name == "synth":
                p.add_argument("--formats", default="csv,jsonl", help="log formats: csv, jsonl, fhir")
        if name == "queries":
            p.add_argument("--show", metavar="NAME", help="print one query verbatim")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = COMMANDS[args.command][0]
    try:
        return handler(args)
    except ScopingError as exc:
        print(f"scoping {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: the case store is unchanged by the interrupted step", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
