"""Cost curve of cross-encoder reranking (#34): seconds per query, pairs/s and peak RSS vs depth.

A BERT cross-encoder of MiniLM-L6 width (hidden 384, 12 heads, intermediate 1536; ``--layers``
sets the depth, 6 = the MiniLM-L6 shape) is built from a config with seeded random weights (speed
does not depend on the weights' values) with the real all-MiniLM-L6-v2 tokenizer from the
offline Hugging Face cache (``scripts/install_offline_models.py``), or a BertTokenizer over a
small vocabulary written here when that cache is absent. It is loaded through the registry
(``load_reranker("cross-encoder", model=folder)``) and reranks the SciFact BM25 top-``depth`` of
the first ``--queries`` test queries (Anserini's run from ../shared/data when present, else
our ``BM25(backend="bm25s")`` over the bundled dataset) with ``Reranker.rerank``, fp32 CPU,
max_length 512. Each depth runs in its own child process (its own peak RSS). Fits log(time) vs
log(depth) and extrapolates to reranking the top 100 of every BEIR test query (the 13 public
sets plus CQADupStack, counted from the qrels).

    python benchmarks/scale_rerank.py [--depths 10,30,100,300,1000] [--queries 10]
        [--layers 6] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
TOKENIZER = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_DIR = Path("/tmp/bench-data/rerank")


def build_model(layers: int) -> tuple[Path, str]:
    """MiniLM-width BertForSequenceClassification (1 label), seeded; returns (folder, tokenizer)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    folder = MODEL_DIR / f"ce-384-l{layers}"
    try:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(TOKENIZER)
        tok_name = f"`{TOKENIZER}` (offline cache)"
    except OSError:  # no offline cache: a WordPiece vocabulary of our own
        from transformers import BertTokenizerFast

        words = sorted({w.lower() for doc in _corpus_texts() for w in doc.split()})[:30000]
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
        tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(dict.fromkeys(vocab))})
        tok_name = "a BertTokenizer over a local SciFact vocabulary (no offline cache)"
    cfg = BertConfig(vocab_size=len(tok), hidden_size=384, num_hidden_layers=layers,
                     num_attention_heads=12, intermediate_size=1536,
                     max_position_embeddings=512, num_labels=1)
    torch.manual_seed(0)
    BertForSequenceClassification(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder, tok_name


def _corpus_texts() -> list[str]:
    from rankify_lite.datasets import load_dataset

    return [d.full_text() for d in load_dataset("beir/scifact").corpus.values()]


def first_stage():
    """(dataset, BM25 top-1000 run, where the run came from)."""
    from rankify_lite.datasets import load_dataset

    ds = load_dataset("beir/scifact")
    path = SHARED / "beir" / "scifact" / "runs" / "anserini-bm25-flat.top1000.trec.gz"
    if path.is_file():
        from rankify_lite.io.trec import read_run

        return ds, read_run(path), "Anserini BM25 flat top 1000 (../shared/data)"
    from rankify_lite.retrievers import BM25

    run = BM25(backend="bm25s", progress=False).retrieve(ds.queries, ds.corpus, k=1000)
    return ds, run, "our BM25 (bm25s backend) top 1000 over the bundled SciFact"


def step(folder: str, depth: int, n_queries: int) -> dict:
    """Child: rerank the top ``depth`` of the first ``n_queries`` queries, timed."""
    import time

    import torch

    from rankify_lite.rerankers import load_reranker

    ds, run, source = first_stage()
    qids = [q for q in run if q in ds.queries][:n_queries]
    cand = run.restrict(qids).top(depth)
    queries = ds.queries
    ce = load_reranker("cross-encoder", model=folder, batch_size=32, max_length=512,
                       device="cpu")
    ce.predict([(queries[qids[0]].text, ds.corpus[d].full_text())
                for d in cand[qids[0]].doc_ids[:8]])  # warm-up: allocator, thread pools
    t0 = time.perf_counter()
    out = ce.rerank(queries, cand, ds.corpus, depth=depth)
    seconds = time.perf_counter() - t0
    pairs = sum(len(cand[q]) for q in qids)
    assert sum(len(out[q]) for q in qids) == pairs
    return {"s": seconds, "pairs": pairs, "queries": len(qids), "source": source,
            "threads": torch.get_num_threads()}


def child(code: str) -> dict:
    code = (f"import json,sys,resource; sys.path.insert(0,{str(HERE)!r});"
            f"import scale_rerank as s; r={code};"
            "r = r if isinstance(r, dict) else {'value': [str(x) for x in r]};"
            "r['rss_mb']=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024;"
            "print(json.dumps(r))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def beir_test_queries() -> tuple[int, list[tuple[str, int]]]:
    """Test queries per dataset of benchmarks/leaderboards/beir.yaml, counted from the qrels."""
    import yaml

    from rankify_lite.io.trec import read_qrels

    cfg = yaml.safe_load((HERE / "leaderboards" / "beir.yaml").read_text())
    counts = []
    for entry in cfg["datasets"]:
        name = entry["name"].split("/", 1)[1]
        path = SHARED / "beir-topics-qrels" / name / "qrels" / "test.tsv"
        if not path.is_file():
            path = SHARED / "beir" / name / "qrels" / "test.tsv"
        if not path.is_file():
            raise FileNotFoundError(f"no test qrels for {name} under {SHARED}")
        counts.append((name, len(read_qrels(path))))
    return sum(c for _, c in counts), counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depths", default="10,30,100,300,1000")
    ap.add_argument("--queries", type=int, default=10)
    ap.add_argument("--layers", type=int, default=6, help="6: MiniLM-L6 shape")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    depths = [int(x) for x in a.depths.split(",")]
    load0 = os.getloadavg()
    folder, tok_name = child(f"s.build_model({a.layers})")["value"]
    rows = []
    for depth in depths:
        r = child(f"s.step({folder!r}, {depth}, {a.queries})")
        per_q = r["s"] / r["queries"]
        mean_docs = r["pairs"] / r["queries"]
        rows.append((depth, mean_docs, r["pairs"], r["s"], per_q, r["pairs"] / r["s"],
                     r["rss_mb"]))
        print(f"depth={depth:>5} pairs={r['pairs']} {r['s']:.1f}s {per_q:.2f}s/query "
              f"{r['pairs'] / r['s']:.1f} pairs/s rss={r['rss_mb']:.0f}MB", flush=True)
    load1 = os.getloadavg()
    short = [f"{d}" for d, m, *_ in rows if m < d]
    table = ["| depth | docs / query | pairs | seconds | s / query | pairs/s | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    table += [f"| {d} | {m:.0f} | {p:,} | {s:.1f} | {q:.2f} | {ps:.1f} | {mb:.0f} |"
              for d, m, p, s, q, ps, mb in rows]
    ds_ = [r[0] for r in rows]
    te, ti = np.polyfit(np.log(ds_), np.log([r[4] for r in rows]), 1)
    me, _ = np.polyfit(np.log(ds_), np.log([r[6] for r in rows]), 1)
    deep = [r for r in rows if r[0] >= 100]  # past the fixed per-call costs of shallow depths
    te_deep = float(np.polyfit(np.log([r[0] for r in deep]), np.log([r[4] for r in deep]),
                               1)[0]) if len(deep) >= 2 else float("nan")
    try:
        total_q, counts = beir_test_queries()
    except (FileNotFoundError, ImportError) as err:
        total_q, counts = 0, []
        print(f"no BEIR extrapolation: {err}")
    ex_lines = [f"Fitted exponent of seconds per query vs depth: **{te:.2f}** over all depths, "
                f"**{te_deep:.2f}** over depths >= 100 (shallow depths carry fixed per-call "
                f"costs; peak RSS exponent {me:.2f})."]
    if total_q:
        measured = [r[4] for r in rows if r[0] == 100]
        per_q100 = measured[0] if measured else float(np.exp(ti) * 100 ** te)
        how = "measured" if measured else "fitted"
        ex_lines.append(
            f"BEIR (13 public test sets + CQADupStack's 12 forums, as in "
            f"`benchmarks/leaderboards/beir.yaml`): **{total_q:,}** test queries counted from "
            f"the qrels ({', '.join(f'{n} {c:,}' for n, c in counts)}). Reranking the top 100 "
            f"of every one at the {how} {per_q100:.2f} s/query (depth 100) would take "
            f"**{per_q100 * total_q / 3600:.1f} h** on this machine (an extrapolation; "
            f"passage lengths differ by dataset, so it is an order of magnitude, not a "
            f"measurement).")
    print("\n".join(table) + "\n\n" + "\n".join(ex_lines))
    if not a.write:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(ds_, [r[4] for r in rows], marker="o", label="measured")
    ax.loglog(ds_, [np.exp(ti) * d ** te for d in ds_], ls="--", label=f"fit, slope {te:.2f}")
    ax.set_xlabel("rerank depth (docs per query)")
    ax.set_ylabel("seconds per query")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(HERE / "plots" / "scale_rerank.png", dpi=100)
    sys.path.insert(0, str(HERE))
    from _results import machine, write_section

    shape = "MiniLM-L6 shape" if a.layers == 6 else f"MiniLM-L6 width, {a.layers} layers " \
        "(smaller than MiniLM-L6's 6, so that all depths fit the session)"
    note = (f" SciFact has fewer than {', '.join(short)} BM25 candidates for some of these "
            "queries: docs / query is what was reranked." if short else "")
    body = (f"Cross-encoder: BERT, hidden 384, 12 heads, intermediate 1536, {shape}, seeded "
            f"random weights, tokenizer {tok_name}; loaded with `load_reranker(\"cross-encoder"
            f"\", model=folder, batch_size=32, max_length=512)`, `Reranker.rerank` on CPU "
            f"(fp32, torch threads {r['threads']}). Input: {r['queries']} SciFact test queries, "
            f"{r['source']}, cut to each depth; each depth in its own child process (peak RSS "
            f"includes the interpreter, torch and the model). {machine()}. Shared machine: "
            f"load average (1/5/15 min) {'/'.join(f'{x:.2f}' for x in load0)} at start, "
            f"{'/'.join(f'{x:.2f}' for x in load1)} at end.{note}\n\n" + "\n".join(table)
            + "\n\n" + "\n\n".join(ex_lines)
            + "\n\n![reranking cost vs depth](plots/scale_rerank.png)\n")
    write_section("scale_rerank", body)


if __name__ == "__main__":
    main()
