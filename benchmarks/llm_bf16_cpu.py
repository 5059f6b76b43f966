"""LLM rerankers on the CPU in bf16 vs fp32 (transformers engine): speed, orderings, logits.

    python benchmarks/llm_bf16_cpu.py [--queries 10] [--depth 20] [--repeats 2]

FIRST (window 10, stride 5) and pointwise yes/no with SmolLM2-135M-Instruct over the first
``--queries`` DL19 queries' BM25 top ``--depth`` (40 words per passage), each path run
``--repeats`` times interleaved (fp32, bf16, fp32, bf16, ...; best time kept). Reports
seconds per query, the ratio, nDCG@10 of each, how far bf16's orderings move from fp32's
(Kendall tau per query, queries with the same top 10, Spearman of the pooled pointwise
scores) and, for FIRST, the first-token identifier logits on the same prompts (Pearson of the
centred logits, max abs difference, windows whose best identifier changes). backend="auto"
picks bf16 for an LLM on the CPU only where this stays within the encoders' goal (Spearman
>= 0.999); the section says whether it does. SmolLM2-135M is a weak ranker: the nDCG@10 values
prove the pipeline, not the method.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"
NAME = "llm_bf16_cpu"
DTYPES = ("float32", "bfloat16")


def kendall(a: list[str], b: list[str]) -> float:
    from scipy.stats import kendalltau

    pos = {d: i for i, d in enumerate(b)}
    return float(kendalltau(range(len(a)), [pos[d] for d in a]).statistic)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=10)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--section", default=NAME)
    args = ap.parse_args(argv)

    import numpy as np
    import torch
    from _results import markdown_table, write_section
    from scipy.stats import spearmanr

    from rankify_lite import load_dataset
    from rankify_lite.evaluation.metrics import evaluate
    from rankify_lite.models.openvino_backend import cpu_features
    from rankify_lite.rerankers.families.first import FirstReranker
    from rankify_lite.rerankers.families.pointwise import PointwiseReranker
    from rankify_lite.rerankers.llm.windows import window_spans
    from rankify_lite.types import Run

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    ds = load_dataset("trec-dl/dl19-passage")
    bm25 = ds.load_run("bm25.top100")
    qids = list(bm25)[:args.queries]
    cands = Run.from_rankings({q: list(bm25[q].doc_ids[:args.depth]) for q in qids}, name="bm25")
    queries = ds.queries
    win = {"window_size": 10, "stride": 5, "passage_words": 40}
    families = {
        "FIRST": lambda dt: FirstReranker(SMOL, dtype=dt, **win),
        "pointwise": lambda dt: PointwiseReranker(SMOL, dtype=dt, passage_words=40),
    }
    rows, notes = [], []
    for fam, make in families.items():
        models = {dt: make(dt) for dt in DTYPES}
        best = {dt: float("inf") for dt in DTYPES}
        runs: dict[str, Run] = {}
        for _ in range(args.repeats):
            for dt in DTYPES:
                t0 = time.perf_counter()
                runs[dt] = models[dt].rerank(queries, cands, ds.corpus, depth=args.depth)
                best[dt] = min(best[dt], time.perf_counter() - t0)
        ref, bf = runs["float32"], runs["bfloat16"]
        taus = [kendall(list(ref[q].doc_ids[:args.depth]), list(bf[q].doc_ids[:args.depth]))
                for q in qids]
        same10 = sum(ref[q].doc_ids[:10] == bf[q].doc_ids[:10] for q in qids)
        nd = {dt: float(np.mean([evaluate(runs[dt], ds.qrels, ["ndcg@10"]).per_query[
            "ndcg@10"][q] for q in qids])) for dt in DTYPES}  # over the reranked queries
        extra = ""
        if fam == "pointwise":
            a = [s for q in qids for s in ref[q].scores[:args.depth]]
            pos = {(q, d): s for q in qids for d, s in zip(bf[q].doc_ids, bf[q].scores,
                                                             strict=True)}
            b = [pos[(q, d)] for q in qids for d in ref[q].doc_ids[:args.depth]]
            extra = f"pooled score Spearman {spearmanr(a, b).statistic:.4f}"
        else:
            first = models["float32"]
            prompts = []
            for q in qids:
                docs = [ds.corpus[d] for d in cands[q].doc_ids]
                prompts += [first.window_prompt(ds.queries[q], docs[s:e]).ids
                            for s, e in window_spans(len(docs), 10, 5)]
            la = np.array(models["float32"].backend.next_token_logits(
                prompts, first.identifier_ids).logits, dtype=np.float64)
            lb = np.array(models["bfloat16"].backend.next_token_logits(
                prompts, first.identifier_ids).logits, dtype=np.float64)
            ca, cb = la - la.mean(1, keepdims=True), lb - lb.mean(1, keepdims=True)
            r = float(np.corrcoef(ca.ravel(), cb.ravel())[0, 1])
            flips = int((la.argmax(1) != lb.argmax(1)).sum())
            extra = (f"identifier logits Pearson {r:.4f}, max abs diff "
                     f"{float(np.abs(la - lb).max()):.3f}, best identifier changed in {flips} "
                     f"of {len(prompts)} windows")
        rows.append([fam, best["float32"] / len(qids), best["bfloat16"] / len(qids),
                     f"{best['float32'] / best['bfloat16']:.2f}x", nd["float32"],
                     nd["bfloat16"], float(np.mean(taus)), float(np.min(taus)),
                     f"{same10}/{len(qids)}", extra])
        print(rows[-1], flush=True)
    feats = ", ".join(k for k, v in cpu_features().items() if v) or "none"
    load_after = os.getloadavg()
    table = markdown_table(["family", "fp32 s/query", "bf16 s/query", "bf16 speed-up",
                            "nDCG@10 fp32", "nDCG@10 bf16", "Kendall tau mean", "tau min",
                            "same top 10", "agreement"], rows)
    goal = all(r[6] >= 0.999 for r in rows)
    notes.append("bf16 keeps fp32's orderings within the goal (tau >= 0.999): "
                 + ("yes" if goal else "no") + "; backend auto keeps LLMs on the CPU in "
                 + ("bf16" if goal else "fp32 (bf16 is opt-in: dtype='bf16')") + ".")
    body = (f"`{SMOL}`, transformers engine on the CPU ({args.threads} threads; CPU features: "
            f"{feats}), DL19 first {len(qids)} queries, BM25 top {args.depth}, 40 words per "
            f"passage; FIRST window 10 stride 5; best of {args.repeats} interleaved runs.\n\n"
            f"{table}\n\n" + " ".join(notes) +
            f"\n\ntorch {torch.__version__}. Load average {load_before[0]:.2f} at the start, "
            f"{load_after[0]:.2f} at the end (2 cores; ratios are interleaved, absolute "
            "seconds are not comparable across runs).")
    print(body)
    write_section(args.section, body)


if __name__ == "__main__":
    main()
