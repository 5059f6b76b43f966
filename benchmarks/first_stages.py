"""Quality of the dense, SPLADE and fused first stages on SciFact (300 test queries).

- Dense ``sentence-transformers/all-MiniLM-L6-v2``: ours (DenseEncoder + faiss flat) beside the
  reference (``SentenceTransformer.encode`` + exact numpy search): nDCG@10, R@100, |diff|.
- SPLADE ``rasyosef/splade-tiny``: nDCG@10, R@100, index size, query latency.
- RRF fusion of BM25 (Anserini flat run, equal to our BM25) and MiniLM, beside each alone, with
  a paired t-test against BM25 (Holm-corrected, via ``rankify_lite.evaluation.compare``).

Needs the real weights in the HF cache (``python scripts/install_offline_models.py``).
Embeddings and indexes are cached (``$RANKIFY_LITE_CACHE``), so reruns are fast.

    HF_HUB_OFFLINE=1 python benchmarks/first_stages.py [--only dense splade fusion]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _results import markdown_table, write_section  # noqa: E402

from rankify_lite import load_dataset  # noqa: E402
from rankify_lite.cache import cache_dir, content_key  # noqa: E402
from rankify_lite.evaluation.metrics import evaluate  # noqa: E402
from rankify_lite.io.trec import read_run  # noqa: E402
from rankify_lite.types import Run  # noqa: E402

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SPLADE = "rasyosef/splade-tiny"
METRICS = ["ndcg_cut_10", "recall_100"]
BM25_RUN = "beir/scifact/runs/anserini-bm25-flat.top1000.trec.gz"


def shared_data() -> Path:
    return Path(os.environ.get("RANKIFY_LITE_SHARED_DATA",
                               Path(__file__).resolve().parents[2] / "shared" / "data"))


def scores(run: Run, qrels) -> tuple[float, float]:
    ev = evaluate(run, qrels, METRICS)
    return ev.mean["ndcg@10"], ev.mean["recall@100"]


def st_reference_run(ds, k: int = 1000) -> Run:
    """sentence-transformers' own encode + exact inner-product search (numpy), cached."""
    from sentence_transformers import SentenceTransformer

    corpus = ds.corpus
    path = cache_dir("bench") / f"st-ref-{content_key(corpus.content_hash(), MINILM)}.npy"
    model = SentenceTransformer(MINILM, device="cpu")
    if path.is_file():
        emb = np.load(path)
    else:
        texts = [d.full_text(" ") for d in corpus.values()]
        emb = model.encode(texts, batch_size=64, convert_to_numpy=True, show_progress_bar=True)
        np.save(path, emb.astype(np.float32))
    qids = list(ds.queries.keys())
    q = model.encode([ds.queries[x].text for x in qids], batch_size=64, convert_to_numpy=True)
    sims = q @ emb.T
    ids = list(corpus.keys())
    top = np.argsort(-sims, axis=1)[:, :k + 1]
    run = Run.from_scores({qid: {ids[j]: float(sims[i, j]) for j in top[i]}
                           for i, qid in enumerate(qids)}, name="st-reference")
    return run.without_self_hits().top(k)


def dense_section(ds) -> tuple[list[list], Run]:
    from rankify_lite.retrievers.dense import Dense

    dense = Dense(MINILM, progress=True).index(ds.corpus)
    t0 = time.perf_counter()
    ours = dense.retrieve(ds.queries, k=1000, exclude_self_hits=True)
    q_s = time.perf_counter() - t0
    ref = st_reference_run(ds)
    o, r = scores(ours, ds.qrels), scores(ref, ds.qrels)
    rows = [["MiniLM-L6 (ours: DenseEncoder + faiss flat)", f"{o[0]:.4f}", f"{o[1]:.4f}",
             f"{1000 * q_s / len(ds.queries):.1f} ms/query (encode + search)"],
            ["MiniLM-L6 (reference: ST encode + exact search)", f"{r[0]:.4f}", f"{r[1]:.4f}",
             ""],
            ["abs difference", f"{abs(o[0] - r[0]):.1e}", f"{abs(o[1] - r[1]):.1e}",
             "must be < 1e-3"]]
    return rows, ours


def splade_section(ds) -> tuple[list[list], Run]:
    from rankify_lite.retrievers.splade import Splade

    sp = Splade(SPLADE, progress=True).index(ds.corpus)
    sp.retrieve(ds.queries, k=10)  # warm-up
    t0 = time.perf_counter()
    run = sp.retrieve(ds.queries, k=1000, exclude_self_hits=True)
    total = time.perf_counter() - t0
    s = scores(run, ds.qrels)
    st = sp.stats
    rows = [["SPLADE-tiny (ours: scipy inverted index)", f"{s[0]:.4f}", f"{s[1]:.4f}",
             f"{1000 * total / len(ds.queries):.2f} ms/query (encode + search); search only "
             f"{st.get('search_ms_per_query', float('nan')):.2f} ms; index "
             f"{st['index_mb']:.1f} MB, {st['nnz']:,} postings, "
             f"{st['avg_doc_terms']:.0f} terms/doc"]]
    return rows, run


def fusion_section(ds, dense_run: Run) -> str:
    from rankify_lite.evaluation.compare import compare
    from rankify_lite.retrievers.fusion import fuse

    bm25 = read_run(shared_data() / BM25_RUN, name="BM25 (Anserini flat)")
    dense_run = dense_run.replace(name="MiniLM-L6")
    rrf = fuse([bm25, dense_run], method="rrf").replace(name="RRF(BM25, MiniLM)")
    mm = fuse([bm25, dense_run], method="sum", norm="min-max").replace(
        name="min-max sum(BM25, MiniLM)")
    cmp = compare([bm25, dense_run, rrf, mm], ds.qrels, METRICS, baseline=0)
    return cmp.to_markdown()


def main(argv: list[str] | None = None) -> None:
    """Each part's result is kept in ``benchmarks/.first_stages.json`` so parts can be run
    separately (``--only``) and the written section always shows every part measured."""
    import json

    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=["dense", "splade", "fusion"],
                    help="parts to (re)measure; none: rewrite the section from stored parts")
    args = ap.parse_args(argv)
    store = Path(__file__).resolve().parent / ".first_stages.json"
    parts: dict = {}
    ds = load_dataset("beir/scifact")
    dense_run = None
    if "dense" in args.only or "fusion" in args.only:
        parts["dense"], dense_run = dense_section(ds)
    if "splade" in args.only:
        parts["splade"], _ = splade_section(ds)
    if "fusion" in args.only and dense_run is not None:
        parts["fusion"] = fusion_section(ds, dense_run)
    # merged at write time: parts run in parallel processes do not undo each other
    parts = {**(json.loads(store.read_text()) if store.is_file() else {}), **parts}
    store.write_text(json.dumps(parts, indent=1))
    headers = ["system", "nDCG@10", "R@100", "notes"]
    rows = parts.get("dense", []) + parts.get("splade", [])
    text = ("SciFact test (300 queries, 5,183 docs), k=1000, self-hits removed, "
            "trec_eval conventions.\n\n" + markdown_table(headers, rows))
    if "fusion" in parts:
        text += ("\n\nFusion (RRF k=60; min-max normalised sum), paired t-test, Holm-corrected; "
                 "superscripts = significantly better than that system, "
                 "† = significant vs the baseline (a).\n\n" + parts["fusion"])
    print(text)
    write_section("first_stages", text)


if __name__ == "__main__":
    main()
