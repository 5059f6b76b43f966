"""LLM reranker families on TREC DL19 with SmolLM2-135M-Instruct: nDCG@10, forward passes, time.

    python benchmarks/llm_families.py [--rows icr-smollm2 pairwise-smollm2 ...] [--max-queries N]

Runs DL19 rows of ``benchmarks/leaderboards/main.yaml`` (FIRST, pointwise, listwise, ICR,
pairwise; BM25 top 10, 30 words per passage) through the same cached, resumable pipeline as
the leaderboard (same cache keys: a row computed here is a cache hit there, and the other way
round), then reports per row nDCG@10 beside BM25 (paired t-test, Holm over the rows), forward
passes per query (one per prompt sequence; from ``llm_stats``) and reranking seconds per
query. ``--max-queries`` restricts to the first N queries (the section then says so).
SmolLM2-135M is a weak ranker: these numbers prove the pipeline, not the methods' quality.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("RANKIFY_LITE_DATA", str(HERE.parents[1] / "shared" / "data"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _results import markdown_table, write_section  # noqa: E402

from rankify_lite import load_dataset  # noqa: E402
from rankify_lite.evaluation.metrics import evaluate  # noqa: E402
from rankify_lite.evaluation.significance import correct, paired_test  # noqa: E402
from rankify_lite.leaderboard import load_config  # noqa: E402
from rankify_lite.leaderboard.config import chain_of  # noqa: E402

NAME = "llm_families"
DATASET = "trec-dl/dl19-passage"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(HERE / "leaderboards" / "main.yaml"))
    ap.add_argument("--rows", nargs="+", default=["icr-smollm2", "pairwise-smollm2"],
                    help="rows of the config (first-smollm2, pointwise-smollm2, ... also work)")
    ap.add_argument("--max-queries", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--section", default=NAME,
                    help="RESULTS.md section to write (other rows' sections stay as they are)")
    args = ap.parse_args(argv)

    import torch

    from rankify_lite.pipeline import Pipeline

    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    specs = {s.name: s for s in config.rerankers}
    unknown = [r for r in args.rows if r not in specs]
    if unknown:
        raise SystemExit(f"rows not in {args.config}: {unknown}")
    ds = load_dataset(DATASET)
    if args.max_queries:  # the dataset itself is cut, so only the queries run are scored
        ds = ds.head(args.max_queries)
    bm25 = ds.load_run("bm25.top100").restrict(ds.queries)
    qids = list(bm25)
    base = evaluate(bm25, ds.qrels, ["ndcg@10"])
    rows, pending = [], []
    for name in args.rows:
        spec = specs[name]
        system = None  # a cascade row (after: NAME) runs its whole chain, as the leaderboard
        for e in chain_of(spec, config.rerankers):
            stage = e.build() % (e.depth or config.depth)
            system = stage if system is None else system >> stage
        pipe = Pipeline("run:bm25.top100", [system], k=config.k or 1000,
                        metrics=["ndcg@10"], cache=True, progress=True)
        res = pipe.run(ds)
        run = res.reranked[-1]
        stats = run.metadata.get("llm_stats", {})
        per_q = run.metadata.get("timing", {}).get("per_query_s", {})
        ev = evaluate(run, ds.qrels, ["ndcg@10"])
        a = [ev.per_query["ndcg@10"][q] for q in base.per_query["ndcg@10"]]
        b = [base.per_query["ndcg@10"][q] for q in base.per_query["ndcg@10"]]
        passes = stats.get("forward_passes", stats.get("prompts"))
        generated = stats.get("output_tokens")
        resumed = run.metadata.get("timing", {}).get("resumed_queries", 0)
        pending.append((name, spec, ev.mean["ndcg@10"], paired_test(a, b),
                        None if passes is None or resumed else passes / len(qids),
                        sum(per_q.values()) / max(1, len(per_q)) if per_q else None,
                        None if generated is None or resumed else generated / len(qids)))
    adjusted = correct([p[3] for p in pending], "holm")
    rows.append(["BM25 (first stage)", f"{base.mean['ndcg@10']:.4f}", "", "", "", "", ""])
    for (name, spec, score, _p, passes, secs, gen), p_adj in zip(pending, adjusted, strict=True):
        rows.append([f"BM25 >> {name} ({spec.family})", f"{score:.4f}",
                     f"{score - base.mean['ndcg@10']:+.4f}", f"{p_adj:.3g}",
                     "cached" if passes is None else f"{passes:.1f}",
                     "cached" if gen is None else f"{gen:.1f}",
                     "cached" if secs is None else f"{secs:.1f}"])
    scope = (f"the first {len(qids)} of 43 queries" if args.max_queries else "all 43 queries")
    body = (f"DL19, {scope}, BM25 top 10 reranked by SmolLM2-135M-Instruct (fp32, CPU, "
            f"{args.threads} threads, machine shared with other jobs, load average 3-8; s / query is the "
            "time measured when the stage was computed, kept with the cached run), 30 words "
            "per passage (causal-lm rows: whole passages, cut only by the format's max_length); "
            "rows as defined in `benchmarks/leaderboards/main.yaml`. Forward passes "
            "= prompt sequences run through the model per query (ICR: query + N/A calibration; "
            "pairwise: two orders per distinct comparison; causal-lm: one per passage); "
            "generated tokens = tokens the model wrote (0 for families that read logits only); "
            "'cached' = served from the pipeline "
            "cache or resumed, so not measured in this run. SmolLM2-135M is weak: these numbers "
            "prove the pipeline, not the methods.\n\n"
            + markdown_table(["system", "nDCG@10", "vs BM25", "p (paired t, Holm)",
                              "forward passes / query", "generated tokens / query",
                              "s / query"], rows))
    write_section(args.section if not args.max_queries else f"{args.section}_first{len(qids)}",
                  body)
    print(body)


if __name__ == "__main__":
    main()
