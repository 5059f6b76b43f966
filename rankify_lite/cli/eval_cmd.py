"""``rankify-lite eval`` and ``rankify-lite compare``: score TREC run files."""

from __future__ import annotations

import argparse
import sys

from rankify_lite.cli.output import print_json, print_table
from rankify_lite.io.numbers import PROBABILITY, REL_LEVEL
from rankify_lite.metric_defaults import DEFAULT_METRICS, metrics_text


def _qrels_and_level(args: argparse.Namespace):
    from rankify_lite.datasets import load_dataset
    from rankify_lite.errors import InputError
    from rankify_lite.evaluation.metrics import check_rel_level
    from rankify_lite.io.trec import read_qrels

    if bool(args.qrels) == bool(args.dataset):
        raise InputError("give exactly one of --qrels FILE or --dataset NAME.",
                         fix="e.g. --qrels qrels.tsv, or --dataset trec-dl/dl19-passage.")
    if args.rel_level is not None:
        check_rel_level(args.rel_level)
    if args.qrels:
        return read_qrels(args.qrels), 1 if args.rel_level is None else args.rel_level
    ds = load_dataset(args.dataset, with_corpus=False)
    if args.rel_level is None:
        print(f"rules: {ds.rules.describe()}", file=sys.stderr)
        return ds.qrels, ds.rel_level
    return ds.qrels, args.rel_level


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--qrels", help="qrels file (TREC 4-column or BEIR TSV)")
    p.add_argument("--dataset", help="take the qrels of this dataset (name or folder)")
    p.add_argument("-m", "--metric", action="append", dest="metrics",
                   help="metric, repeatable: ndcg@10, recall@100, map@1000, mrr@10, p@10; "
                        "suffix -l2 for a relevance level "
                        f"(default: {metrics_text(DEFAULT_METRICS)})")
    p.add_argument("--rel-level", type=REL_LEVEL.argtype("--rel-level"), default=None,
                   help="grade counted relevant by binary metrics (trec_eval -l); "
                        "default 1, or the dataset's (2 for TREC DL)")
    p.add_argument("--no-complete", action="store_true",
                   help="average only over queries present in the run (trec_eval without -c)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def add_parsers(sub) -> None:
    p = sub.add_parser("eval", help="score one or more TREC run files")
    p.add_argument("--run", action="append", required=True, help="run file, repeatable")
    _common(p)
    p.add_argument("--per-query", action="store_true", help="also print per-query scores")
    p.set_defaults(func=cmd_eval)

    c = sub.add_parser("compare", help="compare runs with paired significance tests")
    c.add_argument("--run", action="append", required=True, help="run file, repeatable (>= 2)")
    _common(c)
    c.add_argument("--baseline", default="0", help="baseline run: index or file name (default 0)")
    c.add_argument("--test", choices=["t-test", "randomization"], default="t-test")
    c.add_argument("--correction", choices=["holm", "bonferroni", "none"], default="holm")
    c.add_argument("--alpha", type=PROBABILITY.argtype("--alpha"), default=0.05,
                   help="significance level, in (0, 1) (default 0.05)")
    c.add_argument("--format", choices=["text", "markdown", "latex"], default="text")
    c.set_defaults(func=cmd_compare)


def cmd_eval(args: argparse.Namespace) -> int:
    from rankify_lite.evaluation import DEFAULT_METRICS, evaluate
    from rankify_lite.io.trec import read_run

    qrels, level = _qrels_and_level(args)
    metrics = args.metrics or list(DEFAULT_METRICS)
    results = [evaluate(read_run(path), qrels, metrics, level, not args.no_complete)
               for path in args.run]
    if args.json:
        print_json([{**r.as_dict(), **({"per_query": r.per_query} if args.per_query else {})}
                    for r in results])
        return 0
    names = results[0].metrics
    print_table(["run", *names], [[r.run_name, *(r.mean[m] for m in names)] for r in results])
    for r in results:
        if r.missing_queries:
            print(f"note: {r.run_name}: {len(r.missing_queries)} judged queries have no results "
                  "(scored 0, as trec_eval -c)")
        if r.unjudged_queries:
            print(f"note: {r.run_name}: {len(r.unjudged_queries)} queries have no judgments "
                  "(ignored, as trec_eval)")
        if args.per_query:
            print()
            qids = list(r.per_query[names[0]])
            print_table(["qid", *names], [[q, *(r.per_query[m][q] for m in names)] for q in qids])
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from rankify_lite.evaluation import DEFAULT_METRICS, compare
    from rankify_lite.io.trec import read_run

    qrels, level = _qrels_and_level(args)
    runs = [read_run(path) for path in args.run]
    # an index in plain ASCII digits ('١'.isdigit() is True too), else a run's file name
    baseline: int | str = (int(args.baseline) if args.baseline.isascii()
                           and args.baseline.isdigit() else args.baseline)
    result = compare(runs, qrels, args.metrics or list(DEFAULT_METRICS), baseline=baseline,
                     test=args.test, correction=args.correction, alpha=args.alpha,
                     rel_level=level, complete=not args.no_complete)
    if args.json:
        print_json(result.as_dict())
    elif args.format == "markdown":
        print(result.to_markdown())
    elif args.format == "latex":
        print(result.to_latex())
    else:
        print(result.to_text())
    return 0
