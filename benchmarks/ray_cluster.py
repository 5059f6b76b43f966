"""Past one machine: corpus encoding and cross-encoder reranking on a real two-node Ray cluster
(two ``ray start`` nodes on 127.0.0.1, 1 CPU each, own temp dirs), once whole and once with the
second node SIGKILLed at ~40% of the units; every result is checked byte-identical to one
process. Models: tiny random BERTs built from a config (4 layers, hidden 128, a word vocabulary
from the corpus), saved to /tmp/bench-data/ray/. The cluster is always torn down (only the
process groups this script started are killed: ``ray stop`` would end every Ray here).

    flock /tmp/bench.lock nice -n 2 python benchmarks/ray_cluster.py [--docs 3000] [--queries 30]

``--synthetic N`` measures corpus encoding alone at scale instead: the synthetic BEIR folder of
``_synthetic.py`` with N documents (1,000,000 for #34) and the tiny encoder of
``scale_encode.py`` (hidden 32, 2 layers, batch 64), one process vs 1 node vs 2 nodes vs 2 nodes
with node 2 killed at 40%, each file compared byte for byte; section ``ray_cluster_synthetic``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("RANKIFY_LITE_CACHE", "/tmp/bench-data/ray/cache")

from _results import markdown_table, write_section  # noqa: E402

from rankify_lite import load_dataset, load_reranker  # noqa: E402
from rankify_lite.types import Corpus, Queries  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"
DATA = Path("/tmp/bench-data/ray")
FLAT = "anserini-bm25-flat.top1000"


def tiny_models(corpus: Corpus) -> tuple[str, str]:
    import torch
    import transformers

    words = Counter(w for d in corpus.values() for w in d.text.lower().split())
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *(w for w, _ in words.most_common(5000))]
    tok = transformers.BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)})
    out = []
    for name, labels in (("tiny", None), ("tiny-ce", 1)):
        cfg = transformers.BertConfig(vocab_size=len(vocab), hidden_size=128, num_hidden_layers=4,
                                      num_attention_heads=2, intermediate_size=256,
                                      max_position_embeddings=256, num_labels=labels or 2)
        torch.manual_seed(0)
        model = (transformers.BertForSequenceClassification(cfg) if labels
                 else transformers.BertModel(cfg)).eval()
        model.save_pretrained(DATA / name)
        tok.save_pretrained(DATA / name)
        out.append(str(DATA / name))
    return out[0], out[1]


def _executor(cluster, workers: int, kill: bool):
    from rankify_lite.executors import RayExecutor
    from rankify_lite.executors.local_cluster import kill_midway

    ex = RayExecutor(address=cluster.address, num_workers=workers, num_cpus=0.5,
                     actor_options={"scheduling_strategy": "SPREAD"})
    return kill_midway(ex, lambda: cluster.kill_node(1), at=0.4) if kill else ex


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--depth", type=int, default=30)
    ap.add_argument("--synthetic", type=int, default=0,
                    help="encode a synthetic corpus of N documents (encoding only)")
    args = ap.parse_args(argv)
    if args.synthetic:
        encode_at_scale(args.synthetic)
        return
    import ray

    from rankify_lite.executors import encode_plan
    from rankify_lite.executors.local_cluster import LocalCluster
    from rankify_lite.retrievers.dense import Dense

    DATA.mkdir(parents=True, exist_ok=True)
    load0 = os.getloadavg()[0]
    ds = load_dataset(SHARED)
    corpus = Corpus({d: ds.corpus[d] for d in list(ds.corpus)[:args.docs]})
    enc_path, ce_path = tiny_models(corpus)
    queries = Queries({q: ds.queries[q] for q in list(ds.queries)[:args.queries]})
    first = ds.load_run(FLAT).restrict(queries)
    ce = load_reranker("cross-encoder", model=ce_path, max_length=256, query_batch_size=1)

    t0 = time.perf_counter()
    single_vec = np.asarray(Dense(enc_path, batch_size=8, progress=False).embed_corpus(corpus))
    enc_rows = [["one process (no Ray)", "-", round(time.perf_counter() - t0, 1), "-", "-"]]
    t0 = time.perf_counter()
    single_run = ce.rerank(queries, first, ds.corpus, args.depth)
    ce_rows = [["one process (no Ray)", "-", round(time.perf_counter() - t0, 1), "-", "-"]]
    times: dict[tuple[str, str], float] = {}
    ok = True
    cluster = LocalCluster(root="/tmp/rkb-ray")
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        for setup, workers, kill in (("1 node", 1, False), ("2 nodes", 2, False),
                                     ("2 nodes, node 2 killed at 40%", 2, True)):
            if workers == 2 and len(cluster.nodes) - len(cluster.killed) < 2:
                cluster.add_node()
            ex = _executor(cluster, workers, kill)
            dense = Dense(enc_path, batch_size=8, progress=False)
            encode_plan.cache_path("dense", dense, corpus).unlink(missing_ok=True)  # no reuse
            t0 = time.perf_counter()
            path = ex.encode_corpus(dense, corpus)
            times[("enc", setup)] = time.perf_counter() - t0
            vec = np.load(path).copy()
            path.unlink()
            same = vec.tobytes() == single_vec.tobytes()
            ok &= same
            enc_rows.append([setup, ex.stats["encode_units"], round(times[("enc", setup)], 1),
                             ex.stats.get("redone", 0), "yes" if same else "NO"])
            ex.close()
            if kill:
                cluster.add_node()
            ex = _executor(cluster, workers, kill)
            t0 = time.perf_counter()
            run = ex.rerank(ce, queries, first, ds.corpus, args.depth)
            times[("ce", setup)] = time.perf_counter() - t0
            same = run.lists == single_run.lists and len(run.lists) == len(queries)
            ok &= same
            ce_rows.append([setup, len(queries), round(times[("ce", setup)], 1),
                            ex.stats.get("redone", 0), "yes" if same else "NO"])
            ex.close()
    finally:
        ray.shutdown()
        cluster.close()
    load1 = os.getloadavg()[0]
    head = ["setup", "units", "seconds", "redone by the executor", "byte-identical"]
    enc_r = times[("enc", "1 node")] / times[("enc", "2 nodes")]
    ce_r = times[("ce", "1 node")] / times[("ce", "2 nodes")]
    body = f"""Ray {ray.__version__}: a real cluster of two `ray start --block` nodes on 127.0.0.1
(1 CPU each, own temp dir and process group), one worker actor per node (`SPREAD`, 0.5 CPU each
so a lost node's worker restarts on the survivor). "killed" = the second node's process group
(raylet, object store, its workers) SIGKILLed when 40% of the units had come back; Ray restarts
the lost actor on the head and re-sends its in-flight calls (`max_restarts` / `max_task_retries`
= the executor's `max_retries`), so "redone by the executor" can stay 0. Times include starting
the workers and loading the model. Shared machine: load average {load0:.1f} at the start,
{load1:.1f} at the end; read the ratios.

### Corpus encoding (tiny random BERT, {len(corpus)} SciFact docs, batch 8: 256-doc units)

{markdown_table(head, enc_rows)}

### Cross-encoder reranking (tiny random cross-encoder, {len(queries)} queries, BM25 top-{args.depth})

{markdown_table(["setup", "queries", "seconds", "redone by the executor", "identical run"], ce_rows)}

**1 node / 2 nodes time ratio: encoding {enc_r:.2f}x, reranking {ce_r:.2f}x.** All results
identical to one process: {'yes' if ok else 'NO'}."""
    print(body)
    write_section("ray_cluster", body)


def encode_at_scale(n: int) -> None:
    """One process vs a two-node cluster (and a node killed) encoding ``n`` synthetic docs."""
    import ray
    from _synthetic import dataset_dir
    from scale_encode import BATCH, build_model

    from rankify_lite.datasets.beir_folder import load_beir_folder
    from rankify_lite.executors import encode_plan
    from rankify_lite.executors.local_cluster import LocalCluster
    from rankify_lite.retrievers.dense import Dense

    load0 = os.getloadavg()[0]
    corpus = load_beir_folder(dataset_dir(n), name=f"synthetic-{n}").corpus
    enc_path = str(build_model())

    def dense() -> Dense:
        return Dense(enc_path, batch_size=BATCH, max_length=256, progress=False)

    one = dense()
    encode_plan.cache_path("dense", one, corpus).unlink(missing_ok=True)
    t0 = time.perf_counter()
    single = np.asarray(one.embed_corpus(corpus)).tobytes()
    rows = [["one process (no Ray)", "-", round(time.perf_counter() - t0, 1), "-", "-"]]
    encode_plan.cache_path("dense", one, corpus).unlink()
    times, ok = {}, True
    cluster = LocalCluster(root="/tmp/rkb-ray")
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        for setup, workers, kill in (("1 node", 1, False), ("2 nodes", 2, False),
                                     ("2 nodes, node 2 killed at 40%", 2, True)):
            if workers == 2 and len(cluster.nodes) - len(cluster.killed) < 2:
                cluster.add_node()
            ex = _executor(cluster, workers, kill)
            d = dense()
            encode_plan.cache_path("dense", d, corpus).unlink(missing_ok=True)
            t0 = time.perf_counter()
            path = ex.encode_corpus(d, corpus)
            times[setup] = time.perf_counter() - t0
            same = Path(path).read_bytes()[-len(single):] == single
            path.unlink()
            ok &= same
            rows.append([setup, ex.stats["encode_units"], round(times[setup], 1),
                         ex.stats.get("redone", 0), "yes" if same else "NO"])
            print(rows[-1], flush=True)
            ex.close()
    finally:
        ray.shutdown()
        cluster.close()
    load1 = os.getloadavg()[0]
    body = f"""Ray {ray.__version__}, the cluster of `ray_cluster` (two `ray start` nodes on
127.0.0.1, 1 CPU each), encoding {n:,} synthetic documents (`_synthetic.py`) with the tiny
encoder of `scale_encode` (hidden 32, 2 layers, batch {BATCH}, max_length 256). "byte-identical"
compares the vectors with the one-process file. This machine has 2 cores, so two nodes share
the CPUs the one process used: the ratio shows the overhead and the recovery, not a speed-up a
second machine would give. Load average {load0:.1f} at the start, {load1:.1f} at the end.

{markdown_table(["setup", "units", "seconds", "redone by the executor", "byte-identical"], rows)}

**1 node / 2 nodes time ratio: {times["1 node"] / times["2 nodes"]:.2f}x.** All results
identical to one process: {'yes' if ok else 'NO'}."""
    print(body)
    write_section("ray_cluster_synthetic", body)


if __name__ == "__main__":
    main()
