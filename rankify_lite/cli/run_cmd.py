"""``rankify-lite run`` (retrieve -> rerank -> evaluate) and ``rankify-lite rerun META``."""

from __future__ import annotations

import argparse
from typing import Any

from rankify_lite.cli.output import print_json
from rankify_lite.io.numbers import COUNT, NON_NEGATIVE
from rankify_lite.metric_defaults import PIPELINE_METRICS, metrics_text

#: what ``--option`` may not set: each is declared by its own flag or stage key
STAGE_KEYS = {"model": "--model M, or model=M in the --reranker value",
              "name": "name=N in the --reranker value",
              "depth": "--depth D, or depth=D in the --reranker value"}


def _options(pairs: list[str] | None, flag: str = "--option",
             reserved: dict[str, str] | None = None) -> dict[str, Any]:
    """``KEY=VALUE`` pairs of ``flag``; a key in ``reserved`` (key -> where it is set) is
    refused in one line (it would reach the family twice: "got multiple values")."""
    from rankify_lite.cli.system_spec import parse_options
    from rankify_lite.errors import InputError

    options = parse_options(pairs, flag)
    for key in sorted(set(options) & set(reserved or {})):
        raise InputError(f"{flag} {key}=...: {key} is not a family option, it has its own "
                         "flag.", fix=f"use {(reserved or {})[key]}.")
    return options


def add_exact_flag(p: argparse.ArgumentParser) -> None:
    """``--exact``: encoders and cross-encoders left on backend "auto" run the reference path
    (torch fp32) instead of the machine's fast one (rankify_lite.models.backends)."""
    p.add_argument("--exact", action="store_true",
                   help="run encoders and cross-encoders on the reference path (torch fp32) "
                        "instead of the fastest faithful one for this machine (backend auto)")


def add_parsers(sub) -> None:
    p = sub.add_parser("run", help="retrieve, rerank and evaluate a dataset")
    p.add_argument("--dataset", default="beir/scifact", help="name or folder (default: bundled "
                   "beir/scifact)")
    p.add_argument("--qrels", help="judgments (TREC or BEIR qrels) for a pre-retrieved "
                   "--dataset file (rank_llm / Rankify JSON; its run is run:pre-retrieved)")
    p.add_argument("--retriever", default=None,
                   help="bm25 | bm25-multifield | bm25s | dense | splade | run:NAME (a run "
                        "shipped with the dataset, e.g. run:bm25.top100) (default: bm25; "
                        "run:pre-retrieved for a pre-retrieved .json/.jsonl --dataset file)")
    p.add_argument("--retriever-model", help="model id for dense/splade")
    p.add_argument("--retriever-option", action="append", metavar="KEY=VALUE",
                   help="first-stage option, repeatable (JSON values), e.g. "
                        "index=msmarco-v1-passage or k1=0.9")
    p.add_argument("--reranker", action="append", metavar="SYSTEM",
                   help="a reranker or a cascade, repeatable (one system each): FAMILY "
                        "[model=M] [name=N] [depth=D] [KEY=VALUE ...], stages joined by '>>', "
                        "e.g. 'cross-encoder depth=100 >> first depth=20' (families: "
                        "'rankify-lite rerankers')")
    p.add_argument("--model", help="reranker model id or local folder (stages without model=)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="reranker option, repeatable (JSON values), e.g. batch_size=32")
    p.add_argument("--depth", type=COUNT.argtype("--depth"), default=100,
                   help="candidates reranked (default 100)")
    p.add_argument("-k", type=COUNT.argtype("-k"), default=None,
                   help="first-stage depth (default max(depth,1000))")
    p.add_argument("-m", "--metric", action="append", dest="metrics",
                   help="metrics (default: the dataset's rules, else "
                        f"{metrics_text(PIPELINE_METRICS)})")
    p.add_argument("--test", choices=["t-test", "randomization"], default="t-test")
    p.add_argument("--no-cache", action="store_true", help="don't read or write cached runs")
    p.add_argument("--refresh", action="store_true", help="recompute and overwrite the cache")
    p.add_argument("--output", help="folder for the run files and meta.json: new, empty or a "
                   "saved result (then --overwrite); checked before anything is computed")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a result already saved in --output")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="rerank and encode on Ray workers: alone, a local Ray on this machine; "
                        "'auto' or HOST:6379 joins a cluster started with 'ray start --head'")
    p.add_argument("--ray-workers", type=COUNT.argtype("--ray-workers"),
                   help="Ray workers (default: one per CPU, or per --ray-gpus GPUs)")
    p.add_argument("--ray-gpus", type=NON_NEGATIVE.argtype("--ray-gpus"), default=0,
                   help="GPUs per Ray worker (default 0)")
    add_exact_flag(p)
    p.set_defaults(func=cmd_run)

    r = sub.add_parser("rerun", help="reproduce a saved result from its meta.json")
    r.add_argument("meta", help="meta.json written by 'run --output' or PipelineResult.save")
    r.add_argument("--output", help="folder for the reproduced run files")
    r.add_argument("--overwrite", action="store_true",
                   help="replace a result already saved in --output")
    r.add_argument("--json", action="store_true")
    from rankify_lite.cli.consent import add_consent_flags

    add_consent_flags(r, "meta.json")
    r.add_argument("--allow-changed-data", action="store_true",
                   help="rerun although the dataset, the first-stage run or a saved run file "
                        "differs from the one recorded (the new metadata says so)")
    r.set_defaults(func=cmd_rerun)


def _print_result(result, args: argparse.Namespace) -> None:
    if args.json:
        print_json(result.as_dict())
        return
    ds = result.metadata["dataset"]
    print(f"dataset {ds['name']}: {ds['docs']} docs, {ds['queries']} queries, "
          f"{ds['qrels']} qrels")
    print(result.table())
    for note in result.notes:
        print(f"note: {note}" if not note.startswith("rules:") else note)
    parts = [f"{st.system.display()} " + ("cached" if st.cached else f"{st.wall_s or 0:.1f}s")
             for st in result.stages]
    print("time: " + ", ".join(parts) + f"; total {result.wall_s:.1f}s")
    first_eval = result.comparison.evaluations[0]
    if first_eval.unjudged_queries:
        print(f"note: {len(first_eval.unjudged_queries)} queries have no judgments; "
              "ignored as trec_eval does")
    if first_eval.missing_queries:
        print(f"note: {len(first_eval.missing_queries)} judged queries got no results; "
              "scored 0 (trec_eval -c)")


def _check_output(pipeline, args: argparse.Namespace) -> None:
    """--output must be new, empty or a saved result (with --overwrite): checked before the
    pipeline computes anything, so a refused folder costs no work."""
    if args.output:
        from rankify_lite.pipeline.result import check_result_folder
        from rankify_lite.systems import file_names

        check_result_folder(args.output, file_names(pipeline.output_systems).values(),
                            args.overwrite)


def _check_output_of_saved(meta: dict[str, Any], args: argparse.Namespace) -> None:
    """A rerun's --output, checked by the file names the saved result recorded, before any
    component is built (building one may contact its server); :func:`_check_output` checks
    the rebuilt pipeline's names again."""
    if args.output:
        from rankify_lite.pipeline.result import check_result_folder

        recorded = meta.get("files") if isinstance(meta.get("files"), dict) else {}
        names = [f for f in recorded.values()
                 if isinstance(f, str) and "/" not in f and "\\" not in f]
        check_result_folder(args.output, names, args.overwrite)


def _finish(result, args: argparse.Namespace) -> int:
    _print_result(result, args)
    if args.output:
        path = result.save(args.output, overwrite=args.overwrite)
        if not args.json:
            print(f"saved: {path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from rankify_lite.cli.system_spec import build_systems
    from rankify_lite.pipeline import Pipeline
    from rankify_lite.retrievers.registry import build_retriever

    if args.retriever is None:  # a pre-retrieved file is reranked, not indexed again
        from rankify_lite.datasets.pre_retrieved import default_first_stage

        args.retriever = default_first_stage(args.dataset)
    if args.retriever.startswith("run:"):
        retriever: Any = args.retriever
    else:
        opts = {"model": args.retriever_model} if args.retriever_model else {}
        opts.update(_options(args.retriever_option, "--retriever-option"))
        retriever = build_retriever(args.retriever, **opts)
    rerankers = build_systems(args.reranker, args.model,
                              _options(args.option, reserved=STAGE_KEYS))
    kwargs = {"metrics": args.metrics} if args.metrics else {}
    if args.ray:
        from rankify_lite.executors import RayExecutor

        kwargs["executor"] = RayExecutor(None if args.ray == "local" else args.ray,
                                         num_workers=args.ray_workers, num_gpus=args.ray_gpus)
    pipeline = Pipeline(retriever, rerankers, depth=args.depth, k=args.k, test=args.test,
                        cache=not args.no_cache, refresh=args.refresh, **kwargs)
    _check_output(pipeline, args)
    dataset: Any = args.dataset
    if args.qrels:
        from rankify_lite.datasets.pre_retrieved import load_pre_retrieved_with_qrels

        dataset = load_pre_retrieved_with_qrels(args.dataset, args.qrels)
    return _finish(pipeline.run(dataset), args)


def cmd_rerun(args: argparse.Namespace) -> int:
    from rankify_lite.cli.consent import consent_from
    from rankify_lite.pipeline.rebuild import (
        dataset_of_meta,
        load_recorded_dataset,
        pipeline_from_meta,
    )
    from rankify_lite.pipeline.saved import open_saved
    from rankify_lite.pipeline.trust import sanitize_meta, verify_inputs

    consent = consent_from(args)
    # everything that can be checked offline comes first: what the file may ask for, then its
    # data; only then are components built (an engine may contact its server when built)
    saved = open_saved(args.meta, allow_changed=args.allow_changed_data,
                       flag="--allow-changed-data")
    meta, folder = dict(saved.meta), saved.folder
    source = str(saved.meta_path)
    sanitize_meta(meta, folder, consent=consent, source=source)
    ds = load_recorded_dataset(dataset_of_meta(meta, folder), meta.get("dataset"), folder)
    record = verify_inputs(saved, ds, allow_changed_data=args.allow_changed_data, source=source)
    _check_output_of_saved(meta, args)
    pipeline, _ = pipeline_from_meta(meta, folder=folder, source=source, consent=consent,
                                     allow_changed=args.allow_changed_data)
    _check_output(pipeline, args)
    result = pipeline.run(ds)
    result.metadata["rerun"] = {**record, "trust_remote_code": consent.trust_remote_code,
                                "allowed_servers": list(consent.servers)}
    return _finish(result, args)
