"""``rankify-lite leaderboard CONFIG`` and ``rankify-lite leaderboard --check FILE``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parsers(sub) -> None:
    p = sub.add_parser("leaderboard", help="run a leaderboard config (datasets x first stages x "
                       "rerankers) or check expected scores")
    p.add_argument("config", nargs="?", help="leaderboard YAML; outputs go beside it "
                   "(leaderboards/main.yaml -> leaderboards/main/)")
    p.add_argument("--output", help="output folder (default: beside the config); it must be "
                   "new, empty or an earlier leaderboard output (then --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier leaderboard output in the output folder")
    p.add_argument("--check", metavar="FILE", action="append",
                   help="expected-scores YAML (2CR style): re-run its entries and fail loudly "
                        "when a score drifts; repeatable")
    p.add_argument("--ci-only", action="store_true", help="with --check: only entries marked "
                   "ci: true")
    p.add_argument("--only", action="append", metavar="ID", help="with --check: only this id")
    p.add_argument("--require-data", action="store_true",
                   help="with --check: an entry whose data is not on this machine fails the "
                        "check (default: it is reported as 'not run: data missing')")
    p.add_argument("--skip-missing", action="store_true",
                   help="with CONFIG: leave out a dataset whose inputs are not on this machine "
                        "(one line each says why) and report the rest (default: refuse)")
    p.add_argument("--datasets", metavar="NAMES",
                   help="with CONFIG: run only these datasets (comma-separated names or "
                        "labels from the config, e.g. beir/scifact,beir/nfcorpus)")
    p.add_argument("--no-plots", action="store_true", help="skip latency.png / winloss.png")
    p.add_argument("--no-cache", action="store_true", help="don't read or write cached runs")
    p.add_argument("--refresh", action="store_true", help="recompute and overwrite the cache")
    from rankify_lite.cli.consent import add_consent_flags

    add_consent_flags(p, "the config")
    from rankify_lite.cli.run_cmd import add_exact_flag

    add_exact_flag(p)
    p.set_defaults(func=cmd_leaderboard)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from rankify_lite.errors import InputError

    if not args.config and not args.check:
        raise InputError("nothing to do.", fix="pass a leaderboard CONFIG, or --check FILE")
    cache = not args.no_cache
    status = 0
    if args.config:
        from rankify_lite.cli.consent import consent_from
        from rankify_lite.leaderboard import load_config, run_leaderboard
        from rankify_lite.leaderboard.output import check_folder
        from rankify_lite.leaderboard.report import summary_markdown, write_reports

        config = load_config(args.config, consent=consent_from(args))
        if args.datasets is not None:
            config = config.only_datasets(args.datasets.split(","))
        folder = Path(args.output) if args.output else config.output_dir()
        check_folder(folder, args.overwrite)  # before anything is computed
        result = run_leaderboard(config, cache=cache, refresh=args.refresh,
                                 log=lambda m: print(m, file=sys.stderr, flush=True),
                                 skip_missing=args.skip_missing)
        paths = write_reports(result, folder, plots=not args.no_plots,
                              overwrite=args.overwrite)
        print(summary_markdown(result))
        print(f"{result.computed_stages} stages computed, {result.cached_stages} from cache, "
              f"{result.seconds:.1f}s")
        for name, path in paths.items():
            print(f"wrote {name}: {path}")
    for file in args.check or []:
        from rankify_lite.leaderboard.expected import (
            check_expected,
            failure_report,
            load_expected,
            missing_report,
        )

        entries = load_expected(file)
        results = check_expected(entries, ci_only=args.ci_only, only=args.only, cache=cache)
        report, gone = failure_report(results), missing_report(results)
        ran = [r for r in results if r.status != "missing"]
        if gone:
            print(gone, file=sys.stderr if args.require_data else sys.stdout)
        if report:
            print(report, file=sys.stderr)
            status = 1
        elif gone and (args.require_data or not ran):
            why = "--require-data" if args.require_data else "no entry could run"
            print(f"{file}: {len(results) - len(ran)} of {len(results)} entries not run "
                  f"(data missing; {why}).", file=sys.stderr)
            status = 1
        elif gone:
            print(f"{file}: all {len(ran)} entries run match their expected scores; "
                  f"{len(results) - len(ran)} not run (data missing, listed above).")
        else:
            print(f"{file}: all {len(results)} entries match their expected scores.")
    return status
