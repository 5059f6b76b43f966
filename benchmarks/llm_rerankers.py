"""LLM rerankers on TREC DL19 with SmolLM2-135M-Instruct: quality and FIRST-vs-generation latency.

    python benchmarks/llm_rerankers.py [--model PATH_OR_ID] [--depth 20] [--passage-words 30]

1. Latency: the same windows (same prompts) of a few queries are ordered by ``first`` (one
   forward pass per window) and by ``listwise`` (greedy generation of the permutation); wall
   time per query and per window, tokens in/out, and the speed-up.
2. Quality: BM25 top-``depth`` of all 43 DL19 queries reranked by ``first``, ``pointwise`` and
   ``listwise``; nDCG@10 beside BM25 with a paired t-test (Holm-corrected over the three).
   Runs are cached in ``$RANKIFY_LITE_CACHE/benchmarks/llm_rerankers`` so a rerun is cheap.

SmolLM2-135M is a weak ranker: its numbers prove the pipeline, not FIRST's quality.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("RANKIFY_LITE_DATA", str(Path(__file__).resolve().parents[2] / "shared"
                                               / "data"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _results import markdown_table, write_section  # noqa: E402

from rankify_lite import load_dataset  # noqa: E402
from rankify_lite.cache import cache_dir, content_key  # noqa: E402
from rankify_lite.evaluation.metrics import evaluate  # noqa: E402
from rankify_lite.evaluation.significance import correct, paired_test  # noqa: E402
from rankify_lite.io.trec import read_run, write_run  # noqa: E402
from rankify_lite.types import Run  # noqa: E402

NAME = "llm_rerankers"


def build(family: str, backend, args):
    from rankify_lite.rerankers.families.first import FirstReranker
    from rankify_lite.rerankers.families.listwise import ListwiseReranker
    from rankify_lite.rerankers.families.pointwise import PointwiseReranker

    common = {"backend": backend, "passage_words": args.passage_words,
              "query_batch_size": args.query_batch_size}
    if family == "first":
        return FirstReranker(window_size=args.window, stride=args.stride, **common)
    if family == "listwise":
        return ListwiseReranker(window_size=args.window, stride=args.stride, **common)
    return PointwiseReranker(**common)


def latency(backend, ds, bm25: Run, args) -> str:
    """Same windows through first and listwise; per-window calls so the timing is exact."""
    first, listwise = build("first", backend, args), build("listwise", backend, args)
    qids = list(bm25)[:args.latency_queries]
    rows, totals = [], {"first": 0.0, "listwise": 0.0}
    n_windows = 0
    out_tokens = 0
    for qid in qids:
        docs = [ds.corpus[d] for d in bm25[qid].doc_ids[:args.depth]]
        spans = first.spans(len(docs))
        # identical prompts for both (first-stage order of each window)
        prompts = [first.window_prompt(ds.queries[qid], docs[a:b]).ids for a, b in spans]
        t0 = time.perf_counter()
        first._order_windows(prompts, [b - a for a, b in spans])
        t_first = time.perf_counter() - t0
        listwise._reset_stats()
        t0 = time.perf_counter()
        listwise._order_windows(prompts, [b - a for a, b in spans])
        t_gen = time.perf_counter() - t0
        totals["first"] += t_first
        totals["listwise"] += t_gen
        n_windows += len(spans)
        out_tokens += listwise.stats["output_tokens"]
        rows.append([qid, len(spans), round(t_first, 2), round(t_gen, 2),
                     listwise.stats["output_tokens"], round(t_gen / t_first, 1)])
    nq = len(qids)
    rows.append(["**mean per query**", round(n_windows / nq, 1), round(totals["first"] / nq, 2),
                 round(totals["listwise"] / nq, 2), round(out_tokens / nq, 1),
                 round(totals["listwise"] / totals["first"], 1)])
    return markdown_table(["query", "windows", "first s", "listwise s",
                           "generated tokens", "listwise / first"], rows)


def quality(backend, ds, bm25: Run, args, done: dict) -> str:
    base = evaluate(bm25, ds.qrels, ["ndcg@10"])
    rows = [["BM25 (first stage)", f"{base.mean['ndcg@10']:.4f}", "", "", "", ""]]
    pending = []
    for family in args.methods:
        if family not in done:
            continue
        run, stats, secs = done[family]
        ev = evaluate(run, ds.qrels, ["ndcg@10"])
        qids = list(base.per_query["ndcg@10"])
        a = [ev.per_query["ndcg@10"][q] for q in qids]
        b = [base.per_query["ndcg@10"][q] for q in qids]
        pending.append((family, ev.mean["ndcg@10"], paired_test(a, b), stats, secs))
    adjusted = correct([p for _, _, p, _, _ in pending], "holm")
    for (family, score, _p, stats, secs), p_adj in zip(pending, adjusted, strict=True):
        extra = (f"{stats.get('malformed_windows', 0)}/{stats.get('windows', 0)} malformed"
                 if family == "listwise" else f"{stats.get('prompts', 0)} prompts")
        rows.append([f"BM25 >> {family}", f"{score:.4f}", f"{score - base.mean['ndcg@10']:+.4f}",
                     f"{p_adj:.3g}", f"{secs / len(bm25):.1f}", extra])
    missing = [f for f in args.methods if f not in done]
    note = f"\n\nNot run yet: {', '.join(missing)}." if missing else ""
    return markdown_table(["system", "nDCG@10", "vs BM25", "p (paired t, Holm)",
                           "s / query", "notes"], rows) + note


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="HuggingFaceTB/SmolLM2-135M-Instruct")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--window", type=int, default=20)
    ap.add_argument("--stride", type=int, default=10)
    ap.add_argument("--passage-words", type=int, default=30)
    ap.add_argument("--query-batch-size", type=int, default=1)
    ap.add_argument("--latency-queries", type=int, default=3)
    ap.add_argument("--methods", nargs="+", default=["first", "pointwise", "listwise"])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import torch

    from rankify_lite.rerankers.engines.llm_backend import TransformersBackend

    torch.set_num_threads(args.threads)
    ds = load_dataset("trec-dl/dl19-passage")
    bm25 = ds.load_run("bm25.top100")
    backend = TransformersBackend(args.model, batch_size=4)
    setup = (f"Model `{args.model}` ({backend.dtype}, {backend.device}, {args.threads} threads, "
             f"machine shared with other jobs), DL19 43 queries, BM25 top-{args.depth}, "
             f"window {args.window}, stride {args.stride}, {args.passage_words} words per "
             "passage. SmolLM2-135M is weak: these numbers prove the pipeline, not quality.")
    sections = {"latency": "", "quality": ""}

    def flush() -> None:
        body = (f"{setup}\n\n### Latency: first vs listwise on the same windows\n\n"
                f"{sections['latency'] or '(not run yet)'}\n\n### Quality (DL19 nDCG@10)\n\n"
                f"{sections['quality'] or '(not run yet)'}")
        # the default depth keeps the plain section name; other depths get their own section
        write_section(NAME if args.depth == 20 else f"{NAME}_depth{args.depth}", body)
        print(body, flush=True)

    folder = cache_dir("benchmarks", NAME)
    lat_key = content_key(build("first", backend, args).config(), vars(args))
    lat_path = folder / f"latency-{lat_key}.md"
    if not lat_path.exists():
        lat_path.write_text(latency(backend, ds, bm25, args))
    sections["latency"] = lat_path.read_text()
    flush()
    done: dict = {}
    for family in args.methods:
        rr = build(family, backend, args)
        key = content_key(rr.config(), args.depth, bm25.content_hash())
        path, meta = folder / f"{family}-{key}.trec", folder / f"{family}-{key}.json"
        if path.exists() and meta.exists():
            info = json.loads(meta.read_text())
            done[family] = (read_run(path), info["stats"], info["seconds"])
        else:
            t0 = time.perf_counter()
            run = rr.rerank(ds.queries, bm25, ds.corpus, depth=args.depth,
                            progress=lambda n: print(".", end="", flush=True))
            secs = time.perf_counter() - t0
            write_run(run, path)
            meta.write_text(json.dumps({"stats": dict(run.metadata["llm_stats"]),
                                        "seconds": secs, "config": rr.config()}))
            done[family] = (run, dict(run.metadata["llm_stats"]), secs)
        sections["quality"] = quality(backend, ds, bm25, args, done)
        flush()


if __name__ == "__main__":
    main()
