"""SciFact: BM25 top-100 before and after reranking with all-MiniLM-L6-v2 as a bi-encoder.

First stage: the Anserini BM25 flat run (identical to our BM25 retriever's), top 100 per query.
Reranker: ``load_reranker("bi-encoder", model="sentence-transformers/all-MiniLM-L6-v2")`` with
the real weights (``python scripts/install_offline_models.py --models minilm`` puts them into the
Hugging Face cache). Significance: ``rankify_lite.evaluation.compare`` (paired t-test on
per-query scores, Holm-corrected). The cross-encoder family has no real offline weights here,
so it has no quality row; see ``benchmarks/cross_encoder.py`` for its speed.

    python benchmarks/rerank_quality.py [--queries N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_section  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
METRICS = ["ndcg@10", "mrr@10", "recall@10", "recall@100"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=0, help="first N queries only (0 = all)")
    parser.add_argument("--model", default=MODEL)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from rankify_lite import load_dataset
    from rankify_lite.evaluation import compare
    from rankify_lite.io.trec import read_run
    from rankify_lite.rerankers import load_reranker

    ds = load_dataset(SHARED)
    bm25 = read_run(SHARED / "runs" / "anserini-bm25-flat.top1000.trec.gz", name="bm25").top(100)
    if args.queries:
        bm25 = bm25.restrict(list(bm25)[:args.queries])
    reranker = load_reranker("bi-encoder", model=args.model, query_batch_size=len(bm25))
    start = time.perf_counter()
    reranked = reranker.rerank(ds.queries, bm25, ds.corpus, depth=100)
    seconds = time.perf_counter() - start
    reranked = reranked.replace(name="bm25 >> bi-encoder MiniLM-L6")

    cmp = compare([bm25, reranked], ds.qrels, metrics=METRICS)
    rows = []
    for i, name in enumerate(cmp.systems):
        row: list = [name]
        for m in cmp.metrics:
            row.append(f"{cmp.evaluations[i].mean[m]:.4f}")
        row.append("" if i == cmp.baseline else f"{cmp.p_baseline[cmp.metrics[0]][i]:.2g}")
        rows.append(row)
    n_pairs = sum(len(r) for r in bm25.values())
    table = markdown_table(["system", *cmp.labels, "p (nDCG@10 vs BM25)"], rows)
    body = (f"SciFact test ({len(bm25)} queries), BM25 flat top-100 (Anserini run) reranked by "
            f"`load_reranker(\"bi-encoder\", model=\"{args.model}\")` (real weights, cosine), "
            f"depth 100, CPU. p: paired t-test on per-query scores "
            f"(`rankify_lite.evaluation.compare`).\n\n{table}\n\n"
            f"Reranking time: {seconds:.1f} s for {n_pairs} pairs "
            f"({n_pairs / seconds:.0f} pairs/s, each unique document embedded once).\n\n"
            f"Full comparison table:\n\n{cmp.to_markdown()}")
    print(body)
    if not args.queries:
        write_section("rerank_quality", body)


if __name__ == "__main__":
    main()
