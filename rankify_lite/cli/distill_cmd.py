"""``rankify-lite distill``: train a student (cross-encoder, bi-encoder or SPLADE) on a teacher
run's scores."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rankify_lite.cli.output import print_json

DEFAULT_STUDENT = "sentence-transformers/all-MiniLM-L6-v2"


def _number(flag: str, field: str | None = None) -> Any:
    """The argparse type of ``flag``: the rule its DistillConfig field declares (one line)."""
    from rankify_lite.distill.config import NUMBERS

    return NUMBERS[field or flag[2:].replace("-", "_")].argtype(flag)


def add_parsers(sub) -> None:
    from rankify_lite.distill.config import (
        LABEL_TRANSFORMS,
        LOSSES_BY_KIND,
        NEGATIVES,
        STUDENT_KINDS,
        VALIDATION_METRICS,
        DistillConfig,
    )

    d = DistillConfig()
    p = sub.add_parser(
        "distill", help="distil a teacher run into a student (cross-encoder, bi-encoder, SPLADE)",
        description="Train a student on the scores of a teacher run (a shipped first stage, a "
                    "run file, or a reranker's output through the cached pipeline) with a "
                    "sentence-transformers trainer and ranking loss. --student-kind "
                    "cross-encoder: use it with --reranker cross-encoder --model DIR; "
                    "bi-encoder: --retriever dense --retriever-model DIR, or --reranker "
                    "bi-encoder --model DIR; splade: --retriever splade --retriever-model DIR.")
    p.add_argument("--dataset", "--corpus", dest="dataset", required=True,
                   help="name or folder: the training queries and corpus (with "
                        "--pseudo-queries: the corpus the queries are written for)")
    p.add_argument("--teacher",
                   help="run:NAME (a run shipped with the dataset, e.g. run:splade-pp-ed.top100) "
                        "or a TREC run file; with --teacher-reranker, the candidates it reranks "
                        "(not with --pseudo-queries: see --teacher-retriever)")
    from rankify_lite.cli.pseudo_cmd import add_generation_args

    g = p.add_argument_group(
        "pseudo-queries (GPL)", "train on queries an LLM writes for the corpus: each query's "
        "source passage is its positive (--negatives judged by default), the teacher's top "
        "--depth its negatives; no qrels are read")
    add_generation_args(g, passages_flag="--pseudo-queries")
    g.add_argument("--pseudo-output", default=None, metavar="DIR",
                   help="where the generated set is saved (default: OUTPUT-pseudo-queries)")
    g.add_argument("--teacher-retriever", action="append", metavar="NAME[:MODEL]",
                   help="first stage giving the pseudo-queries' candidates, repeatable: two or "
                        "more are fused (CombSUM, min-max), e.g. --teacher-retriever bm25 "
                        "--teacher-retriever dense:sentence-transformers/all-mpnet-base-v2 "
                        "(default bm25); --teacher-reranker then rescores them")
    g.add_argument("--teacher-k", type=_number("--teacher-k", "depth"), default=100, metavar="K",
                   help="candidates each teacher first stage retrieves (default 100)")
    p.add_argument("--teacher-reranker", metavar="FAMILY",
                   help="teacher = this reranker over --teacher's candidates (cached pipeline)")
    p.add_argument("--teacher-model", help="model of --teacher-reranker")
    p.add_argument("--teacher-option", action="append", metavar="KEY=VALUE",
                   help="option of --teacher-reranker, repeatable (JSON values)")
    p.add_argument("--student", default=DEFAULT_STUDENT,
                   help=f"HF id or folder of the student encoder (default {DEFAULT_STUDENT})")
    p.add_argument("--output", required=True, help="folder for the student")
    p.add_argument("--student-kind", choices=list(STUDENT_KINDS), default=d.student_kind)
    losses = sorted({name for table in LOSSES_BY_KIND.values() for name in table})
    p.add_argument("--loss", choices=losses, default=d.loss,
                   help="cross-encoder: margin-mse, ranknet, listnet, lambda, adr-mse; "
                        "bi-encoder and splade: margin-mse, distill-kl")
    p.add_argument("--negatives", choices=list(NEGATIVES), default=None,
                   help="hard: positives from the teacher's top --positives, negatives below; "
                        "judged: the qrels' (a pseudo-query's source) positive, negatives from "
                        f"the pool (default: judged with --pseudo-queries, else {d.negatives})")
    p.add_argument("--positives", type=_number("--positives"), default=d.positives)
    p.add_argument("--ways", type=_number("--ways"), default=d.ways, help="negatives per distill-kl example")
    p.add_argument("--temperature", type=_number("--temperature"), default=None,
                   help="distill-kl: softmax temperature of student scores and teacher labels "
                        "(default: the loss's; ~0.05 for cosine bi-encoders)")
    p.add_argument("--validation-queries", type=_number("--validation-queries"), default=0.2,
                   help="share of the training queries held out for validation (default 0.2; "
                        "0: none)")
    p.add_argument("--validation-metric", choices=list(VALIDATION_METRICS), default="loss",
                   help="picks the kept checkpoint; ndcg@10 reads the dataset's qrels of the "
                        "held-out training queries")
    p.add_argument("--validation-depth", type=_number("--validation-depth"), default=None)
    p.add_argument("--eval-steps", type=_number("--eval-steps"), default=d.eval_steps)
    p.add_argument("--validation-examples", type=_number("--validation-examples"),
                   default=d.validation_examples,
                   help="examples per validation query for the validation loss")
    p.add_argument("--bf16", action="store_true",
                   help="train under bfloat16 autocast (about 2x faster on CPUs with "
                        "avx512_bf16/AMX; weights stay float32)")
    p.add_argument("--patience", type=_number("--patience"), default=None,
                   help="stop after this many evaluations without improvement")
    p.add_argument("--depth", type=_number("--depth"), default=d.depth, help="teacher candidates per query")
    p.add_argument("--labels", choices=["auto", *LABEL_TRANSFORMS], default=d.labels,
                   help="teacher scores -> labels (reciprocal-rank for order-only teachers "
                        "such as listwise LLM rerankers)")
    p.add_argument("--label-scale", type=_number("--label-scale"), default=d.label_scale,
                   help="default: 1, or for bi-encoders the student's own score spread")
    p.add_argument("--pairs-per-query", type=_number("--pairs-per-query"), default=d.pairs_per_query)
    p.add_argument("--list-size", type=_number("--list-size"), default=d.list_size)
    p.add_argument("--lists-per-query", type=_number("--lists-per-query"), default=d.lists_per_query)
    p.add_argument("--epochs", type=_number("--epochs"), default=d.epochs)
    p.add_argument("--max-steps", type=_number("--max-steps"), default=None)
    p.add_argument("--batch-size", type=_number("--batch-size"), default=d.batch_size)
    p.add_argument("--mini-batch-size", type=_number("--mini-batch-size"), default=None)
    p.add_argument("--lr", type=_number("--lr", "learning_rate"), default=d.learning_rate,
                   dest="learning_rate")
    p.add_argument("--warmup-ratio", type=_number("--warmup-ratio"), default=d.warmup_ratio)
    p.add_argument("--weight-decay", type=_number("--weight-decay"), default=d.weight_decay)
    p.add_argument("--max-length", type=_number("--max-length"), default=d.max_length)
    p.add_argument("--seed", type=_number("--seed"), default=d.seed)
    p.add_argument("--save-steps", type=_number("--save-steps"), default=d.save_steps)
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted training from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace a student already in --output")
    p.add_argument("--keep-checkpoints", action="store_true")
    p.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--json", action="store_true", help="print the student's metadata as JSON")
    from rankify_lite.cli.run_cmd import add_exact_flag

    add_exact_flag(p)
    p.set_defaults(func=cmd_distill)


def _teacher(args: argparse.Namespace, ds: Any):
    from rankify_lite.errors import InputError
    from rankify_lite.io.trec import read_run

    source: Any
    if args.teacher.startswith("run:"):
        source = args.teacher if args.teacher_reranker else ds.load_run(args.teacher[4:])
    elif Path(args.teacher).is_file():
        source = read_run(args.teacher)
    else:
        raise InputError(f"teacher {args.teacher!r} is neither run:NAME nor a run file.",
                         fix=f"use run:NAME (shipped: {', '.join(sorted(ds.runs)) or 'none'}) "
                             "or the path of a TREC run.")
    if not args.teacher_reranker:
        from rankify_lite.distill.data import teacher_for

        return teacher_for(source, ds.queries)
    from rankify_lite.cli.run_cmd import _options
    from rankify_lite.pipeline import Pipeline
    from rankify_lite.rerankers import load_reranker

    reserved = {"model": "--teacher-model M", "name": "nothing (the teacher is not named)",
                "depth": "--depth D"}
    reranker = load_reranker(args.teacher_reranker, model=args.teacher_model,
                             **_options(args.teacher_option, "--teacher-option", reserved))
    result = Pipeline(source, reranker, depth=args.depth, k=args.depth).run(ds)
    return result.run


def _pseudo_teacher(args: argparse.Namespace, ds: Any) -> tuple[Any, Any, Any]:
    """(pseudo-query set, its dataset, teacher run) for ``--pseudo-queries``."""
    from rankify_lite.cli.pseudo_cmd import generate_from_args
    from rankify_lite.cli.run_cmd import _options
    from rankify_lite.datasets import load_dataset
    from rankify_lite.distill.gpl import teacher_run
    from rankify_lite.errors import InputError
    from rankify_lite.retrievers.registry import build_retriever

    if args.teacher:
        raise InputError("--teacher names a run of the dataset's own queries; with "
                         "--pseudo-queries the candidates come from --teacher-retriever.",
                         fix="drop --teacher, e.g. --teacher-retriever bm25.")
    out = args.pseudo_output or f"{str(args.output).rstrip('/')}-pseudo-queries"
    pseudo = generate_from_args(args, ds, out, args.overwrite or args.resume)
    retrievers = []
    for spec in args.teacher_retriever or ["bm25"]:
        name, _, model = spec.partition(":")
        retrievers.append(build_retriever(name, **({"model": model} if model else {})))
    reranker = None
    if args.teacher_reranker:
        from rankify_lite.rerankers import load_reranker

        reranker = load_reranker(args.teacher_reranker, model=args.teacher_model,
                                 **_options(args.teacher_option, "--teacher-option",
                                            {"model": "--teacher-model M", "depth": "--depth D",
                                             "name": "nothing"}))
    teacher = teacher_run(pseudo, ds.corpus, retrievers, k=args.teacher_k, reranker=reranker)
    return pseudo, load_dataset(out), teacher


def cmd_distill(args: argparse.Namespace) -> int:
    from rankify_lite.datasets import load_dataset
    from rankify_lite.distill import DistillConfig, distill
    from rankify_lite.errors import InputError

    ds = load_dataset(args.dataset)
    if not hasattr(ds, "corpus") or ds.corpus is None:
        raise InputError(f"dataset {args.dataset!r} has no corpus (or is a group of datasets).",
                         fix="distil on a single dataset with corpus.jsonl.")
    pseudo = args.passages is not None
    if not pseudo and not args.teacher:
        raise InputError("distill needs a teacher: --teacher run:NAME or a run file, or "
                         "--pseudo-queries N to write queries for the corpus.",
                         fix=f"e.g. --teacher run:NAME (shipped: {', '.join(sorted(ds.runs)) or 'none'}).")
    negatives = args.negatives or ("judged" if pseudo else "random")
    config = DistillConfig(
        loss=args.loss, student_kind=args.student_kind, negatives=negatives,
        positives=args.positives, ways=args.ways, temperature=args.temperature,
        validation_queries=args.validation_queries,
        validation_metric=args.validation_metric, validation_depth=args.validation_depth,
        eval_steps=args.eval_steps, patience=args.patience, depth=args.depth,
        validation_examples=args.validation_examples, bf16=args.bf16,
        labels=args.labels, label_scale=args.label_scale,
        pairs_per_query=args.pairs_per_query, list_size=args.list_size,
        lists_per_query=args.lists_per_query, epochs=args.epochs, max_steps=args.max_steps,
        batch_size=args.batch_size, mini_batch_size=args.mini_batch_size,
        learning_rate=args.learning_rate, warmup_ratio=args.warmup_ratio,
        weight_decay=args.weight_decay, max_length=args.max_length, seed=args.seed,
        save_steps=args.save_steps)
    if pseudo:
        _, ds, teacher = _pseudo_teacher(args, ds)
    else:
        teacher = _teacher(args, ds)
    result = distill(teacher, ds.queries, ds.corpus, student=args.student, output=args.output,
                     config=config, resume=args.resume, overwrite=args.overwrite,
                     keep_checkpoints=args.keep_checkpoints, device=args.device,
                     dataset=ds.name, progress=not args.json,
                     validation_qrels=ds.qrels if args.validation_metric == "ndcg@10" else None,
                     rel_level=ds.rel_level,
                     qrels=ds.qrels if config.negatives == "judged" else None)
    if args.json:
        print_json(result.metadata)
        return 0
    meta = result.metadata
    losses = result.losses
    tr = meta["training"]
    print(f"teacher {meta['teacher']['name']} ({meta['data']['queries']} queries, "
          f"{meta['data']['examples']} {meta['data']['example_kind']}), loss {config.loss}")
    if losses:
        print(f"{tr['steps']} steps in {tr['train_seconds_this_session']:.1f}s; loss "
              f"{losses[0]:.4f} (step 1) -> {losses[-1]:.4f} (step {tr['steps']})")
    val = meta.get("validation") or {}
    if val.get("curve"):
        untrained = (" = the untrained student: no checkpoint beat it"
                     if val.get("kept") == "untrained" else "")
        print(f"validation ({len(meta['data']['validation_queries'])} held-out queries, "
              f"{val['metric']}): kept step {val['best_step']}{untrained} "
              f"({val['best_value']:.4f})")
    print(f"student saved: {result.folder}")
    use = {"cross-encoder": "--retriever run:NAME --reranker cross-encoder --model",
           "bi-encoder": "--retriever dense --retriever-model",
           "splade": "--retriever splade --retriever-model"}[config.student_kind]
    print(f"use it: rankify-lite run --dataset DATASET {use} {result.folder}")
    return 0
