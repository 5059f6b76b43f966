"""SciFact BM25: our Lucene backend vs calling pyserini directly vs our bm25s backend.

Same settings for all (k1=0.9, b=0.4, flat, top-1000 with self-hits removed, all cores), in
one process, runs interleaved so machine noise hits every system alike. Index time is a fresh
build (no cache); retrieval is 300 queries, median of ``--reps`` repetitions.

    python benchmarks/bm25.py [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_section  # noqa: E402

K = 1000
METRICS = ["ndcg_cut_10", "recall_100", "recall_1000"]


def load_scifact():
    from rankify_lite import load_dataset

    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"
    return load_dataset(shared if shared.is_dir() else "beir/scifact")


def ours(backend: str, corpus, queries, root: Path):
    from rankify_lite.retrievers import BM25

    bm25 = BM25(backend=backend, progress=False, index_root=root)
    start = time.perf_counter()
    bm25.index(corpus)
    index_s = time.perf_counter() - start

    def search():
        return bm25.retrieve(queries, k=K, exclude_self_hits=True)

    return index_s, search


def raw_pyserini(corpus, queries, root: Path, threads: int):
    """What a pyserini user writes: a JsonCollection, IndexCollection, LuceneSearcher."""
    from jnius import autoclass
    from pyserini.search.lucene import LuceneSearcher

    start = time.perf_counter()
    coll = root / "collection"
    coll.mkdir(parents=True)
    with open(coll / "docs.jsonl", "w", encoding="utf-8") as f:
        for d in corpus.values():
            f.write(json.dumps({"id": d.id, "contents": d.full_text()}) + "\n")
    autoclass("io.anserini.index.IndexCollection").main(
        ["-collection", "JsonCollection", "-input", str(coll), "-index", str(root / "index"),
         "-generator", "DefaultLuceneDocumentGenerator", "-threads", str(threads), "-quiet"])
    index_s = time.perf_counter() - start
    searcher = LuceneSearcher(str(root / "index"))
    searcher.set_bm25(0.9, 0.4)
    qids = list(queries)
    texts = [queries[q].text for q in qids]

    def search():
        hits = searcher.batch_search(texts, qids, k=K + 1, threads=threads)
        return {q: [(h.docid, h.score) for h in hs if h.docid != q][:K] for q, hs in hits.items()}

    def search_unread():  # the Java part alone: hits stay Java objects, never read
        return searcher.batch_search(texts, qids, k=K + 1, threads=threads)

    return index_s, search, search_unread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    from rankify_lite.evaluation.metrics import evaluate
    from rankify_lite.retrievers.java import ensure_jvm
    from rankify_lite.types import Run

    ds = load_scifact()
    threads = os.cpu_count() or 1
    ensure_jvm()
    import pyserini.search.lucene  # noqa: F401  (import cost paid up front, outside timings)

    builders = {
        "rankify_lite BM25(lucene)": lambda root: ours("lucene", ds.corpus, ds.queries, root),
        "pyserini direct": lambda root: raw_pyserini(ds.corpus, ds.queries, root, threads)[:2],
        "rankify_lite BM25(bm25s)": lambda root: ours("bm25s", ds.corpus, ds.queries, root),
    }
    index_times: dict[str, list[float]] = {name: [] for name in builders}
    times: dict[str, list[float]] = {name: [] for name in builders}
    results = {}
    with tempfile.TemporaryDirectory(prefix="bm25-bench-") as tmp:
        searches = {}
        for rep in range(args.reps + 1):  # fresh builds each time; the first one warms up
            order = list(builders) if rep % 2 == 0 else list(reversed(builders))
            for i, name in enumerate(order):
                index_s, searches[name] = builders[name](Path(tmp) / f"{rep}-{i}")
                if rep:
                    index_times[name].append(index_s)
        unread_name = "pyserini batch_search, hits not read (Java only)"
        searches[unread_name] = raw_pyserini(ds.corpus, ds.queries, Path(tmp) / "unread",
                                             threads)[2]
        times[unread_name] = []
        for search in searches.values():  # warm up the JIT and caches once
            search()
        for rep in range(args.reps):
            order = list(searches) if rep % 2 == 0 else list(reversed(searches))
            for name in order:
                start = time.perf_counter()
                results[name] = searches[name]()
                times[name].append(time.perf_counter() - start)

    base = "pyserini direct"
    base_s = statistics.median(times[base])
    base_index = statistics.median(index_times[base])
    rows = []
    for name in times:
        if name not in builders:  # Java-only timing: no index column, no Run to score
            med = statistics.median(times[name])
            rows.append([name, "", "", round(med, 3), round(len(ds.queries) / med, 1),
                         f"{med / base_s:.3f}", "", "", ""])
            continue
        index_s = statistics.median(index_times[name])
        out = results[name]
        run = out if isinstance(out, Run) else Run.from_scores({q: dict(v) for q, v in out.items()})
        scores = evaluate(run, ds.qrels, METRICS).mean
        med = statistics.median(times[name])
        rows.append([name, round(index_s, 2), f"{index_s / base_index:.3f}", round(med, 3),
                     round(len(ds.queries) / med, 1), f"{med / base_s:.3f}", *(f"{scores[m]:.4f}" for m in
                                              ("ndcg@10", "recall@100", "recall@1000"))])
    table = markdown_table(
        ["system", "index s", "index time / pyserini", "retrieve s (300 q, top-1000)", "queries/s",
         "retrieve time / pyserini", "nDCG@10", "R@100", "R@1000"], rows)
    note = (f"SciFact ({len(ds.corpus)} docs, {len(ds.queries)} queries), flat, k1=0.9 b=0.4, "
            f"{threads} threads, medians of {args.reps} runs after one warm-up, systems interleaved "
            "(order alternating). Index time is a fresh build each run (writing the "
            "JsonCollection included for both Lucene rows; ours also checks the document count "
            "and writes the cache marker). "
            "Our retrieve time includes building the Run (canonical order, self-hits removed); "
            "pyserini's includes turning hits into Python lists (reading docid and score off "
            "each Java hit object); the Java-only row is pyserini's batch_search with the hits "
            "left unread, a floor no Python caller reaches. Anserini's published figures: "
            "0.6789 / 0.9253 / 0.9767.")
    print(table)
    print()
    print(note)
    write_section("bm25", table + "\n\n" + note)


if __name__ == "__main__":
    main()
