"""``rankify-lite report FOLDER -o report.html``: one self-contained HTML page of a saved
result (``run --output``) or a leaderboard folder."""

from __future__ import annotations

import argparse


def cmd_report(args: argparse.Namespace) -> int:
    from rankify_lite.report import build_report

    path = build_report(args.folder, args.output, dataset=args.dataset,
                        allow_changed=args.allow_changed, overwrite=args.overwrite)
    print(f"report: {path} ({path.stat().st_size / 1024:.0f} KiB, self-contained; open it in "
          "a browser, no network needed)")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="an HTML report of a saved result or leaderboard folder",
                       description="Write one self-contained HTML file (works offline): the "
                                   "comparison table with significance marks, effectiveness-"
                                   "latency and win/loss plots, and a per-query view of each "
                                   "system's top 10 with relevance grades and reranker moves.")
    p.add_argument("folder", help="a result folder (meta.json, from rankify-lite run --output) "
                                  "or a leaderboard folder (results.json)")
    p.add_argument("-o", "--output", default="report.html",
                   help="the HTML file to write (default: report.html). Never a file of FOLDER: "
                        "inside it only an .html file may be written; an existing file is "
                        "replaced only when it is a report rankify-lite wrote (else --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing output file that is not a rankify-lite report "
                        "(never a file of FOLDER)")
    p.add_argument("--allow-changed", action="store_true",
                   help="report a result whose run files changed after it was saved (their "
                        "sha256 differs from meta.json's record): each changed file is marked "
                        "in the page; without it such a result is refused")
    p.add_argument("--dataset", default=None,
                   help="the dataset folder or name, when the one meta.json records is not "
                        "found from here (qrels, query texts and passages come from it)")
    p.set_defaults(func=cmd_report)
