"""The command line: a thin mirror of the library. Each command opens the case, calls one library
function and prints a short result; a ScopingError becomes a clean message and a distinct exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import wording
from ._version import __version__
from .errors import ConfigError, InputError, ScopingError
from .figures import local_time
from .private import private_files
from .progress import Progress, on_terminal
from .result import ScopeResult
from .writers import visible

Handler = Callable[[argparse.Namespace], int]


def _open(path: str):  # type: ignore[no-untyped-def]
    from .case import Case

    return Case.open(path)


def _language(value: str) -> str:
    """A language code in its normal form (pt_BR and pt-br are pt-BR), as the wording tables name it."""
    try:
        return wording.normal_lang(value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a language code such as fr, en or pt-BR") from exc


def cmd_init(a: argparse.Namespace) -> int:
    from .case import Case

    case = Case.create(a.case)
    print(f"created {case.root / 'case.toml'}: describe your sources, reference tables and incident there")
    return 0


def cmd_ingest(a: argparse.Namespace) -> int:
    if a.dry_run:
        case = _open(a.case)  # the store is not opened: a dry run creates and changes nothing
        print(case.dry_run(a.sources or None, sample=a.sample or 1000).summary())
        return 0
    if a.sample is not None:
        raise ConfigError("--sample goes with --dry-run", hint="scoping ingest CASE --dry-run --sample 200")
    with _open(a.case) as case:
        report = case.ingest(a.sources or None, progress=None if not a.quiet else False, force=a.force)
    print(report.summary())
    return 0


def _key(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the key file {path}: {exc.strerror or exc}") from exc


def cmd_scope(a: argparse.Namespace) -> int:
    key = _key(a.pseudonymise_key)
    with _open(a.case) as case:
        result = case.scope(count_undetermined=False if a.exclude_undetermined else None)
        published = case.publish(result, out=a.out, pseudonymise_key=key)
        print(_scope_summary(result, published.folder))
    return 0


def _scope_summary(result: ScopeResult, out: Path) -> str:
    s = result.summary
    c, act, tz = s["counts"], s["activity"], result.incident.timezone
    lines = [
        f"run:               {result.run_id} (undetermined segments counted: "
        f"{'yes' if s['incident']['count_undetermined'] else 'no'})",
        f"affected patients: {c['patients_affected']:,} across {c['controllers_affected']:,} practices "
        f"(listed {c['exposure_listed']:,}, opened {c['exposure_opened']:,}, copied {c['exposure_copied']:,}; "
        f"modified {c['patients_modified']:,})",
        f"attempted only:    {c['patients_attempted_only']:,}",
        f"segments:          {c['segments_attacker']:,} attacker, {c['segments_undetermined']:,} undetermined, "
        f"{c['segments_owner']:,} owner"
        + (f", {c['segments_excluded']:,} excluded by a decision" if c.get("segments_excluded") else "")
        + f" (in {c['sessions']:,} sessions)",
    ]
    for verdict in ("attacker", "undetermined"):
        v = act[verdict]
        if v["first_activity_utc"]:
            lines.append(f"{verdict + ' activity:':23}{local_time(v['first_activity_utc'], tz)} → "
                         f"{local_time(v['last_activity_utc'], tz)}; last patient reached "
                         f"{local_time(v['last_access_utc'], tz)}")
    if c["patients_left_out_undetermined"]:
        lines.append(f"left out:          {c['patients_left_out_undetermined']:,} patients reached only by "
                     f"undetermined segments (not counted in this run)")
    if c["unassigned_affected"] or c["unassigned_attempted"]:
        lines.append(f"WARNING:           {c['unassigned_affected']:,} reached and {c['unassigned_attempted']:,} "
                     f"attempted patient ids belong to no practice: see unassigned_patients.csv")
    if s.get("accounts_without_baseline"):
        n = len(s["accounts_without_baseline"])
        lines.append(f"WARNING:           {n} compromised account(s) were active on fewer than "
                     f"{s['incident'].get('usual_min_days', 1)} days before the window "
                     f"({', '.join(visible(a) for a in s['accounts_without_baseline'][:5])}): "
                     f"their segments cannot be told to be the holder's — ingest older logs, or decide them")
    unmapped = sum(r["events"] for r in s.get("unmapped_in_windows") or [])
    if unmapped:
        lines.append(f"WARNING:           {unmapped:,} events of the compromised accounts in the windows are "
                     f"unclassified (action other or category unknown): their exposure may be understated; "
                     f"summary.json lists their raw values — fix the mapping and ingest again")
    dq = s.get("data_quality") or {}
    if dq.get("quarantined"):
        reasons: dict[str, int] = {}
        for r in dq.get("quarantine_by_reason") or []:
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + int(r["lines"])
        top = ", ".join(f"{visible(k)}: {v:,}" for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        lines.append(f"WARNING:           {dq['quarantined']:,} line(s) of the evidence are quarantined ({top}): "
                     f"what they record is in no list — summary.json and the report name each file, reason "
                     f"and first line (scoping ingest CASE --dry-run shows why a mapping fails)")
    lines.append(f"outputs:           {out}")
    return "\n".join(lines)


def cmd_run(a: argparse.Namespace) -> int:
    with _open(a.case) as case:
        report = case.ingest(progress=None if not a.quiet else False)
        print(report.summary())
        result = case.scope()
        published = case.publish(result)
        print(_scope_summary(result, published.folder))
        kits = case.notify(result, lang=a.lang, progress=_progress(a))
        print(f"notification kits: {case.out / 'notify' / a.lang} ({len(result.practice_files)} practices)")
        case.report(result, progress=_progress(a))
        print(f"report:            {case.out / 'report.html'} ({kits.folder / 'manifest.json'} lists every file)")
        engine = result.run.engine
        if engine:
            print(f"engine:            {engine.get('name')} {engine.get('version')}"
                  + (f" ({'Spark Connect ' if engine.get('api') == 'connect' else ''}{engine['master']}, over the lake)"
                     if engine.get("master") else
                     f" (over the {engine.get('tables', 'store')})"))
    if (Path(a.case) / "truth" / "affected_patients.csv").is_file():  # a synthetic world
        print(_compare_with_truth(Path(a.case)))
    return 0


def cmd_lake(a: argparse.Namespace) -> int:
    with _open(a.case) as case:
        info = case.write_lake()
        lake = case.lake
    tables = ", ".join(f"{name} {rows:,}" for name, rows in sorted(info["tables"].items()))
    print(f"lake written: {lake.location if lake else ''} ({tables} rows); every stage of this case now reads it")
    return 0


def cmd_notify(a: argparse.Namespace) -> int:
    with _open(a.case) as case:
        result = case.run(a.run)
        print(f"publishing run {result.run_id} (recorded {result.run.recorded_at})", file=sys.stderr)
        published = case.notify(result, lang=a.lang, practices=a.practice or None, directory=a.directory,
                                include_attempted=a.include_attempted, out=a.out, progress=_progress(a))
        print(f"notification kits: {published.folder / 'notify' / a.lang}")
        print(published.describe())
    return 0


def cmd_report(a: argparse.Namespace) -> int:
    with _open(a.case) as case:
        result = case.run(a.run)
        print(f"publishing run {result.run_id} (recorded {result.run.recorded_at})", file=sys.stderr)
        published = case.report(result, out=a.out, progress=_progress(a))
        print(f"report: {published.folder / 'report.html'}")
        print(published.describe())
    return 0


def _progress(a: argparse.Namespace) -> Progress | None:
    """Progress on stderr when it is a terminal (and --quiet is not given); nothing otherwise."""
    return None if getattr(a, "quiet", False) else on_terminal()


def cmd_runs(a: argparse.Namespace) -> int:
    with _open(a.case) as case:
        listed = case.runs()
    if listed.is_empty():
        print("no run recorded yet: `scoping scope CASE` records one")
        return 0
    seen: set[str] = set()
    for row in listed.iter_rows(named=True):
        latest = "" if row["kind"] in seen else "  (latest)"
        seen.add(row["kind"])
        print(f"{row['run_id']}  {row['kind']:9} {row['recorded_at_utc']}  scoping {row['tool_version']}{latest}")
    return 0


def cmd_verify(a: argparse.Namespace) -> int:
    with _open(a.case) as case:
        v = case.verify(a.out, recompute=a.recompute, pseudonymise_key=_key(a.pseudonymise_key))
    for p in v.problems:
        print(p)
    for note in v.notes:
        print(f"note: {note}")
    checked = f"{v.outputs_checked} output file(s) and {v.evidence_checked} evidence file(s) checked"
    if a.recompute:
        checked += f", {v.recomputed} list file(s) recomputed"
    print(f"{checked}: " + ("all match the manifest" if v.ok else f"{len(v.problems)} problem(s)"))
    return 0 if v.ok else 5


def cmd_synth(a: argparse.Namespace) -> int:
    from .synth import SynthOptions, synthesize

    world = synthesize(Path(a.dir), SynthOptions(scale=a.scale, seed=a.seed, formats=tuple(a.formats.split(",")),
                                                 days=a.days))
    print(world.describe())
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from .synth import SynthOptions, synthesize

    folder = Path(a.dir)
    world = synthesize(folder, SynthOptions(scale=a.scale, seed=a.seed))
    print(world.describe())
    ns = argparse.Namespace(case=str(folder), quiet=False, lang=a.lang)
    return cmd_run(ns)  # which compares the lists with the world's truth


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
    with _open(a.case) as case:
        found = case.discover(since=a.since, until=a.until)
        published = case.publish_discovery(found, out=a.out)
        print(found.describe())
        print(f"written: {published.folder / 'discovery.csv'} and {published.folder / 'proposed_incident.toml'} "
              f"(an incident to review before copying it into case.toml)")
        if published.dropped:
            print(published.describe())
    return 0


def cmd_timeline(a: argparse.Namespace) -> int:
    with _open(a.case) as case:
        rows = case.timeline(patient=a.patient, account=a.account, address=a.address, session=a.session,
                             since=a.since, until=a.until, raw=a.raw, run_id=a.run, limit=a.limit)
    for r in rows.iter_rows(named=True):
        print(f"{r['ts_utc']}  {visible(r['account_id'] or '-')}  {visible(r['src_ip'] or '-')}  {r['action']:>12} "
              f"{r['category']:<14} {visible(r['patient_id'] or '-')}  {r['outcome']:<7}  "
              f"{(r['verdict'] or '-'):<12}  {visible(r['source_path'])}:{r['source_line']}")
        if a.raw:
            print(f"    {visible(r['raw_line']) if r['raw_line'] is not None else '(not a line-based file)'}")
    print(f"{rows.height:,} event(s){' (limit reached: --limit)' if rows.height == a.limit else ''}")
    return 0


def cmd_export_timeline(a: argparse.Namespace) -> int:
    with _open(a.case) as case:
        result = case.run(a.run)
        published = case.export_timeline(result, with_patients=a.with_patients, out=a.out)
        print(f"timeline: {published.folder / 'timeline' / 'timesketch.jsonl'} (import it into Timesketch as JSONL)")
    return 0


def cmd_queries(a: argparse.Namespace) -> int:
    from . import queries

    if a.show:
        print(queries.get(a.show).text, end="")
        return 0
    if a.spark:
        from .spark_sql import spark_text

        print(spark_text(a.spark), end="")
        return 0
    for q in queries.all_queries():
        print(f"{q.name:32} {q.question}")
    return 0


COMMANDS: dict[str, tuple[Handler, str, str]] = {
    "init": (cmd_init, "create a case folder with a commented case.toml", "scoping init cases/weda-2025"),
    "ingest": (cmd_ingest, "load the sources named in case.toml (all by default)", "scoping ingest CASE gateway"),
    "discover": (cmd_discover, "rank accounts and sessions that look compromised, with reasons",
                 "scoping discover CASE --from 2025-11-01"),
    "scope": (cmd_scope, "attribute sessions, compute exposures, write CASE/out/", "scoping scope CASE"),
    "notify": (cmd_notify, "per-practice notification kits: letters, mail-merge files, regulator sheet",
               "scoping notify CASE --lang fr --directory patients.csv"),
    "report": (cmd_report, "figures and out/report.html", "scoping report CASE"),
    "run": (cmd_run, "ingest + scope + notify + report from case.toml", "scoping run CASE"),
    "lake": (cmd_lake, "write the case store's canonical tables into the case's Parquet lake ([case] lake)",
             "scoping lake CASE"),
    "runs": (cmd_runs, "list the recorded runs, newest first", "scoping runs CASE"),
    "verify": (cmd_verify, "re-hash evidence and outputs against the manifest; name every changed, missing or "
               "unlisted file", "scoping verify CASE --out shared/"),
    "synth": (cmd_synth, "write a synthetic breach world with its ground truth and case.toml",
              "scoping synth worlds/small --scale 1 --seed 7"),
    "demo": (cmd_demo, "synth + run, then print where the report is", "scoping demo demo"),
    "timeline": (cmd_timeline, "every logged event behind a patient, account, address or session, in time order, "
                 "with its verdict, file and line", "scoping timeline CASE --patient P0000042 --raw"),
    "export-timeline": (cmd_export_timeline, "the compromised accounts' events of the windows, with verdicts, as "
                        "Timesketch JSON lines", "scoping export-timeline CASE"),
    "queries": (cmd_queries, "list every shipped SQL query with its question", "scoping queries --show scope_sessions"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scoping", description="Whose medical records were touched, by which "
                                     "account, how and when.")
    parser.add_argument("--version", action="version", version=f"scoping {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text, example) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=f"example: {example}")
        if name in ("init", "ingest", "discover", "scope", "notify", "report", "run", "runs", "verify", "timeline",
                    "export-timeline", "lake"):
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
        if name in ("ingest", "run", "notify", "report"):
            p.add_argument("--quiet", action="store_true", help="no progress on the terminal")
        if name in ("notify", "run", "demo"):
            p.add_argument("--lang", default="fr", type=_language,
                           help="language of the letters: fr or en, or one a case's [notify] wording_dir adds "
                                "(default fr)")
        if name == "export-timeline":
            p.add_argument("--with-patients", action="store_true", help="name the patient of each access (off by "
                           "default: a timeline tool is often shared more widely than the lists)")
        if name in ("notify", "report", "export-timeline"):
            p.add_argument("--run", metavar="ID", help="publish this recorded run (default: the latest; "
                           "`scoping runs CASE` lists them)")
        if name in ("notify", "report", "verify", "discover", "export-timeline"):
            p.add_argument("--out", metavar="DIR", help="the output folder (default: CASE/out)")
        if name == "notify":
            p.add_argument("--practice", action="append", metavar="ID", help="only this practice (repeatable)")
            p.add_argument("--directory", metavar="FILE",
                           help="the practice's patient directory (CSV with patient_id, name, address…)")
            p.add_argument("--include-attempted", action="store_true",
                           help="also put attempted-only patients in the mail-merge files")
        if name == "verify":
            p.add_argument("--recompute", action="store_true",
                           help="also compute the run again from the store and compare every list byte for byte")
        if name in ("scope", "verify"):
            p.add_argument("--pseudonymise-key", metavar="KEYFILE",
                           help="replace patient ids by a keyed hash (HMAC-SHA256) in every output; the key file "
                                "(16+ random bytes) is never copied into the outputs")
        if name == "scope":
            p.add_argument("--exclude-undetermined", action="store_true",
                           help="do not count undetermined sessions as affected (they are by default)")
            p.add_argument("--out", metavar="DIR", help="the output folder (default: CASE/out)")
        if name == "discover":
            p.add_argument("--from", dest="since", help="start of the period examined (ISO 8601)")
            p.add_argument("--to", dest="until", help="end of the period examined (ISO 8601)")
        if name in ("synth", "demo"):
            p.add_argument("dir", metavar="DIR", nargs="?" if name == "demo" else None,
                           default="demo" if name == "demo" else None, help="folder to write the world into")
            p.add_argument("--scale", type=float, default=1.0,
                           help="size of the world (1 = about 50,000 events, 30 practices)")
            p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same world)")
            if name == "synth":
                p.add_argument("--formats", default="csv,jsonl",
                               help="log formats, one or two of csv, jsonl, fhir (the web application's, then "
                                    "the API's)")
                p.add_argument("--days", type=int, default=28,
                               help="days of normal work before the breach (default 28): more days, the same "
                                    "daily volume")
        if name == "timeline":
            p.add_argument("--run", metavar="ID", help="the verdicts of this recorded run (default: the latest)")
            for flag, what in (("--patient", "a patient id"), ("--account", "an account id"),
                               ("--address", "a network address"), ("--session", "a log session id")):
                p.add_argument(flag, help=what)
            p.add_argument("--from", dest="since", help="from this time (ISO 8601; the incident's zone if no offset)")
            p.add_argument("--to", dest="until", help="until this time (excluded)")
            p.add_argument("--raw", action="store_true", help="also print each line as the evidence file holds it")
            p.add_argument("--limit", type=int, default=1000, help="at most this many events (default 1000)")
        if name == "queries":
            p.add_argument("--show", metavar="NAME", help="print one query verbatim")
            p.add_argument("--spark", metavar="NAME", help="print the Spark text of a file the Spark engine runs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = COMMANDS[args.command][0]
    try:
        with private_files():  # everything this command creates is readable by its owner only
            return handler(args)
    except BrokenPipeError:  # `scoping queries | head`: the reader left; nothing to report
        sys.stderr.close()
        return 0
    except ScopingError as exc:
        print(f"scoping {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: the case store is unchanged by the interrupted step", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
