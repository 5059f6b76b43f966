"""1 vs 2 Ray workers on this machine: bi-encoder corpus encoding (SciFact, all-MiniLM-L6-v2)
and cross-encoder reranking (a MiniLM-L6-shaped cross-encoder: all-MiniLM-L6-v2 weights plus a
fresh seeded head), each checked byte-identical to the single-process result.

Each worker is one Ray actor with one CPU (so one torch thread); the single-process baseline
uses torch's default threads (2 here). Model loading and worker start-up are timed apart from
the work (a warm-up call loads the model into the workers first). Needs the offline model
(``python scripts/install_offline_models.py``) and the shared SciFact folder for the run.

    nice -n 10 python benchmarks/ray_scaling.py [--docs 1536] [--queries 12] [--depth 40]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RANKIFY_LITE_CACHE", tempfile.mkdtemp(prefix="ray-scaling-"))

from _results import markdown_table, write_section  # noqa: E402

from rankify_lite import load_dataset  # noqa: E402
from rankify_lite.types import Corpus, Queries  # noqa: E402

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"
FLAT = "anserini-bm25-flat.top1000"


def _load() -> float:
    return os.getloadavg()[0]


def encode_bench(ds, n_docs: int, batch_size: int) -> tuple[list[list], dict]:
    from rankify_lite.executors import RayExecutor
    from rankify_lite.retrievers.dense import Dense

    docs = list(ds.corpus.values())
    step = max(1, len(docs) // n_docs)  # spread over the corpus: its real length mix
    corpus = Corpus({d.id: d for d in docs[::step][:n_docs]})
    warm = Corpus({d.id: d for d in docs[1::step][:64]})
    rows, outs, times = [], {}, {}
    for workers in (1, 2):
        ex = RayExecutor(num_workers=workers)
        t0 = time.perf_counter()
        ex.encode_corpus(Dense(MODEL, batch_size=batch_size, progress=False), warm).unlink()
        startup = time.perf_counter() - t0
        dense = Dense(MODEL, batch_size=batch_size, progress=False)
        t0 = time.perf_counter()
        path = ex.encode_corpus(dense, corpus)
        times[workers] = time.perf_counter() - t0
        outs[workers] = np.load(path).copy()
        path.unlink()
        units = ex.stats["encode_units"]
        ex.close()
        rows.append([f"Ray, {workers} worker{'s' * (workers > 1)}", len(corpus), units,
                     round(startup, 1), round(times[workers], 1),
                     round(len(corpus) / times[workers], 1)])
    dense = Dense(MODEL, batch_size=batch_size, progress=False)
    t0 = time.perf_counter()
    single = np.asarray(dense.embed_corpus(corpus)).copy()
    times[0] = time.perf_counter() - t0
    rows.insert(0, ["one process (no Ray, 2 torch threads)", len(corpus), "-", "-",
                    round(times[0], 1), round(len(corpus) / times[0], 1)])
    same = all(outs[w].tobytes() == single.tobytes() for w in (1, 2))
    return rows, {"speedup": times[1] / times[2], "identical": same,
                  "rate1": len(corpus) / times[1], "max_diff": float(max(
                      np.abs(outs[w] - single).max() for w in (1, 2)))}


def cross_encoder_folder(path: Path) -> str:
    import torch
    import transformers

    torch.manual_seed(0)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(MODEL, num_labels=1)
    model.save_pretrained(path)
    transformers.AutoTokenizer.from_pretrained(MODEL).save_pretrained(path)
    return str(path)


def rerank_bench(ds, n_queries: int, depth: int, qbs: int) -> tuple[list[list], dict]:
    from rankify_lite import load_reranker
    from rankify_lite.executors import RayExecutor

    qids = list(ds.queries)[:n_queries + 2]
    queries = Queries({q: ds.queries[q] for q in qids})
    first = ds.load_run(FLAT).restrict(queries)
    warm_q = Queries({q: queries[q] for q in qids[-2:]})
    main_first = first.restrict(qids[:n_queries])
    folder = cross_encoder_folder(Path(tempfile.mkdtemp()) / "ce")
    ce = load_reranker("cross-encoder", model=folder, max_length=256, query_batch_size=qbs)
    rows, runs, times = [], {}, {}
    pairs = sum(min(depth, len(main_first[q])) for q in main_first)
    for workers in (1, 2):
        ex = RayExecutor(num_workers=workers)
        t0 = time.perf_counter()
        ex.rerank(ce, warm_q, first.restrict(warm_q), ds.corpus, depth)
        startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        runs[workers] = ex.rerank(ce, queries, main_first, ds.corpus, depth)
        times[workers] = time.perf_counter() - t0
        ex.close()
        rows.append([f"Ray, {workers} worker{'s' * (workers > 1)}", len(main_first), pairs,
                     round(startup, 1), round(times[workers], 1),
                     round(pairs / times[workers], 1)])
    t0 = time.perf_counter()
    single = ce.rerank(queries, main_first, ds.corpus, depth)
    times[0] = time.perf_counter() - t0
    rows.insert(0, ["one process (no Ray, 2 torch threads)", len(main_first), pairs, "-",
                    round(times[0], 1), round(pairs / times[0], 1)])
    same = all(runs[w].lists == single.lists for w in (1, 2))
    return rows, {"speedup": times[1] / times[2], "identical": same,
                  "rate1": pairs / times[1], "s_per_query1": times[1] / len(main_first)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1536)
    ap.add_argument("--batch-size", type=int, default=8, help="encoder batch (8: 256-doc units)")
    ap.add_argument("--queries", type=int, default=12)
    ap.add_argument("--depth", type=int, default=40)
    ap.add_argument("--query-batch-size", type=int, default=2)
    args = ap.parse_args(argv)

    import ray

    ds = load_dataset(SHARED)
    load0 = _load()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    enc_rows, enc = encode_bench(ds, args.docs, args.batch_size)
    ce_rows, ce = rerank_bench(replace(ds), args.queries, args.depth, args.query_batch_size)
    ray.shutdown()
    load1 = _load()
    enc_table = markdown_table(["setup", "docs", "units", "start-up + model load s",
                                "encode s", "docs/s"], enc_rows)
    ce_table = markdown_table(["setup", "queries", "pairs", "start-up + model load s",
                               "rerank s", "pairs/s"], ce_rows)
    body = f"""Ray {ray.__version__}, local cluster `ray.init(num_cpus=2)`, one CPU per worker.
Load average {load0:.1f} at the start, {load1:.1f} at the end (shared machine: other jobs ran
beside this one, so absolute rates are low and the ratios are what to read).

### Bi-encoder corpus encoding (`{MODEL}`, SciFact, every {max(1, 5183 // args.docs)}th doc)

Batch size {args.batch_size}: units of {args.batch_size * 32} documents (the encoder's own
length-sorted tokenisation chunks).

{enc_table}

**Speed-up 2 vs 1 workers: {enc['speedup']:.2f}x.** Embeddings byte-identical to one process:
{'yes' if enc['identical'] else f"NO (max abs diff {enc['max_diff']:.2g})"}.

### Cross-encoder reranking (MiniLM-L6 weights + fresh head, max_length 256)

SciFact BM25 (Anserini flat) top-{args.depth}, {args.query_batch_size} queries per batch.

{ce_table}

**Speed-up 2 vs 1 workers: {ce['speedup']:.2f}x.** Reranked runs identical to one process:
{'yes' if ce['identical'] else 'NO'}.

Per-worker rates used by the README estimate: {enc['rate1']:.1f} docs/s encoding,
{ce['rate1']:.1f} pairs/s cross-encoding (one CPU core each)."""
    print(body)
    write_section("ray_scaling", body)


if __name__ == "__main__":
    main()
