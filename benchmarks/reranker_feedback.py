"""Reranker relevance feedback (ReFIT / FIRST, Reddy et al.) on TREC DL: MiniLM dense over the
shipped passages, a bi-encoder teacher reranks each query's top ``K``, the query vector takes
``STEPS`` gradient steps on KL(teacher || retriever) over those ``K``, and the moved vector
retrieves again. Reports nDCG@10 and R@100 (grade >= 2) before and after, with a paired t-test.

The feedback settings (k, steps, lr, temperatures) are the component's defaults, fixed before
any DL number was seen (no tuning on these queries).

    flock /tmp/bench.lock nice -n 5 python benchmarks/reranker_feedback.py --dataset dl19-passage
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_section  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec-dl"
RETRIEVER = "sentence-transformers/all-MiniLM-L6-v2"
TEACHER = "sentence-transformers/all-mpnet-base-v2"
METRICS = ["ndcg@10", "recall@100"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", help="dl19-passage and/or dl20-passage")
    parser.add_argument("--teacher", default=TEACHER, help="bi-encoder reranker model")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from rankify_lite import load_dataset
    from rankify_lite.evaluation import compare
    from rankify_lite.retrievers.dense import Dense
    from rankify_lite.retrievers.feedback import RerankerFeedback

    rows, notes, fb = [], [], None
    for name in args.dataset or ["dl19-passage"]:
        ds = load_dataset(DATA / name)
        t0 = time.perf_counter()
        dense = Dense(RETRIEVER, device="cpu", progress=False).index(ds.corpus)
        before = dense.retrieve(ds.queries, 100).replace(name="MiniLM dense")
        t1 = time.perf_counter()
        fb = RerankerFeedback(dense, "bi-encoder", reranker_options={
            "model": args.teacher, "device": "cpu"}).index(ds.corpus)
        after = fb.retrieve(ds.queries, 100).replace(name="MiniLM dense + feedback")
        t2 = time.perf_counter()
        top_k = fb.judged.replace(name=f"teacher's reranking of the top {fb.k}")
        cmp = compare([before, after, top_k], ds.qrels, METRICS, rel_level=ds.rel_level)
        ev = cmp.evaluations
        for m in cmp.metrics:
            rows.append([name, f"{len(ds.queries)}", m, f"{ev[0].mean[m]:.4f}",
                         f"{ev[1].mean[m]:.4f}", f"{ev[1].mean[m] - ev[0].mean[m]:+.4f}",
                         f"{cmp.p_baseline[m][1]:.2g}", f"{ev[2].mean[m]:.4f}"])
        notes.append(f"{name}: KL {fb.stats['kl_before']:.3f} -> {fb.stats['kl_after']:.3f}, "
                     f"mean query shift (L2) {fb.stats['query_shift_l2']:.3f}; dense "
                     f"{t1 - t0:.0f} s (corpus embeddings cached or encoded), teacher + "
                     f"feedback + re-retrieval {t2 - t1:.0f} s")
    cfg = fb.config() if fb else {}
    body = (
        f"Retriever `{RETRIEVER}` (dense, exact inner product over the shipped passages); "
        f"teacher `{args.teacher}` as a bi-encoder reranker of the top {cfg.get('k')}; "
        f"{cfg.get('steps')} gradient steps of lr {cfg.get('lr')} on KL(teacher || retriever) "
        f"with temperatures {cfg.get('teacher_temperature')} / {cfg.get('temperature')} "
        f"(component defaults, not tuned here). p: paired t-test, after vs before; the last "
        f"column is the teacher's own reranking of the dense top {cfg.get('k')} (what the "
        f"feedback learns from; scored on its {cfg.get('k')} documents).\n\n"
        + markdown_table(["dataset", "queries", "metric", "dense", "dense + feedback", "diff",
                          "p", f"teacher top-{cfg.get('k')}"], rows)
        + "\n\n" + "\n".join(f"- {n}" for n in notes))
    print(body)
    write_section("reranker_feedback", body)


if __name__ == "__main__":
    main()
