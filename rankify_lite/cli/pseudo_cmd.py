"""``rankify-lite pseudo-queries``: an LLM writes a query per passage of a corpus (GPL / InPars),
optionally filtered by a first stage, saved as a BEIR folder that ``--dataset`` reads back.
``distill --pseudo-queries N`` uses the same options (:func:`add_generation_args`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rankify_lite.cli.output import print_json

DEFAULT_GENERATOR = "HuggingFaceTB/SmolLM2-135M-Instruct"


def _count(flag: str) -> Any:
    from rankify_lite.io.numbers import COUNT

    return COUNT.argtype(flag)


def add_generation_args(p: argparse.ArgumentParser, *, passages_flag: str = "--passages") -> None:
    from rankify_lite.distill.pseudo_queries import STYLES, PseudoQueryConfig
    from rankify_lite.rerankers.engines import engine_names

    d = PseudoQueryConfig()
    p.add_argument(passages_flag, type=_count(passages_flag), default=None, dest="passages",
                   metavar="N", help="passages that get a query (a seeded sample; default: all)")
    p.add_argument("--style", default=d.style,
                   help=f"prompt preset ({', '.join(STYLES)}) or a YAML template's path")
    p.add_argument("--generator", default=DEFAULT_GENERATOR,
                   help=f"the LLM that writes the queries (default {DEFAULT_GENERATOR})")
    p.add_argument("--engine", choices=engine_names(), default="transformers")
    p.add_argument("--engine-option", action="append", metavar="KEY=VALUE",
                   help="option of the engine, repeatable (JSON values), e.g. base_url=...")
    p.add_argument("--generator-dtype", default=None, metavar="DTYPE",
                   help="transformers engine: e.g. bfloat16 (about 2x faster on CPUs with "
                        "avx512_bf16/AMX; default: the engine's, fp32 on CPU)")
    p.add_argument("--max-passage-tokens", type=_count("--max-passage-tokens"),
                   default=d.max_passage_tokens)
    p.add_argument("--max-new-tokens", type=_count("--max-new-tokens"), default=d.max_new_tokens)
    p.add_argument("--generation-batch", type=_count("--generation-batch"), default=d.batch_size,
                   help="prompts per generate call")
    p.add_argument("--filter-retriever", default=None, metavar="NAME",
                   help="keep a query only when this first stage (bm25, dense, ...) ranks its "
                        "source passage in its top --filter-k")
    p.add_argument("--filter-k", type=_count("--filter-k"), default=10)


def generate_from_args(args: argparse.Namespace, ds: Any, output: str | Path,
                       overwrite: bool) -> Any:
    """Generate (cached, resumable), filter, and save the set to ``output``; returns it."""
    from rankify_lite.cli.run_cmd import _options
    from rankify_lite.distill import pseudo_set
    from rankify_lite.distill.pseudo_queries import PseudoQueryConfig, generate_pseudo_queries
    from rankify_lite.errors import InputError
    from rankify_lite.io.output_folder import check_output_folder
    from rankify_lite.rerankers.engines import build_backend

    if getattr(ds, "corpus", None) is None:
        raise InputError(f"dataset {ds.name!r} has no corpus.",
                         fix="generate pseudo-queries for a dataset with corpus.jsonl.")
    check_output_folder(output, pseudo_set.FILES, previous=pseudo_set._previous,
                        overwrite=overwrite, what="pseudo-query set")
    config = PseudoQueryConfig(style=args.style, passages=args.passages,
                               max_passage_tokens=args.max_passage_tokens,
                               max_new_tokens=args.max_new_tokens,
                               batch_size=args.generation_batch, seed=args.seed)
    options = _options(args.engine_option, "--engine-option",
                       {"model": "--generator M", "dtype": "--generator-dtype"})
    if args.generator_dtype:
        options["dtype"] = args.generator_dtype
    backend = build_backend(args.engine, args.generator, **options)
    pseudo = generate_pseudo_queries(ds.corpus, backend, config, progress=not args.json)
    if args.filter_retriever:
        from rankify_lite.retrievers.registry import build_retriever

        retriever = build_retriever(args.filter_retriever)
        run = retriever.index(ds.corpus).retrieve(pseudo.queries, k=args.filter_k)
        pseudo = pseudo.filtered(run, args.filter_k, by=args.filter_retriever)
    pseudo.save(output, ds.corpus, overwrite=overwrite)
    return pseudo


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "pseudo-queries", help="an LLM writes a query per passage (GPL/InPars training data)",
        description="Generate one query per passage of a corpus with an LLM through any "
                    "engine (greedy, cached, resumable), optionally keep only queries whose "
                    "source passage a first stage ranks in its top --filter-k, and save a "
                    "BEIR folder (qrels/train.tsv: each query's source passage) that --dataset "
                    "reads back, e.g. for distill.")
    p.add_argument("--dataset", required=True, help="name or folder: the corpus")
    p.add_argument("--output", required=True, help="folder for the BEIR-style set")
    add_generation_args(p)
    from rankify_lite.io.numbers import SEED

    p.add_argument("--seed", type=SEED.argtype("--seed"), default=42,
                   help="draws the sample of --passages")
    p.add_argument("--overwrite", action="store_true", help="replace a set already in --output")
    p.add_argument("--json", action="store_true", help="print the set's spec and counts as JSON")
    from rankify_lite.cli.run_cmd import add_exact_flag

    add_exact_flag(p)
    p.set_defaults(func=cmd_pseudo_queries)


def cmd_pseudo_queries(args: argparse.Namespace) -> int:
    from rankify_lite.datasets import load_dataset

    ds = load_dataset(args.dataset)
    pseudo = generate_from_args(args, ds, args.output, args.overwrite)
    if args.json:
        print_json(pseudo.describe())
        return 0
    c = pseudo.counts
    rate = f", {c['queries_per_second']:.2f} queries/s" if c.get("queries_per_second") else ""
    print(f"{c['passages']} passages -> {c['generated']} queries ({c['dropped_empty']} empty "
          f"dropped{rate}{'; cached' if pseudo.spec.get('cached') else ''})")
    if "filter" in c:
        f = c["filter"]
        print(f"filter {f['by']} top {f['k']}: kept {f['kept']} of {f['of']}")
    print(f"saved: {args.output} (use --dataset {args.output})")
    return 0
