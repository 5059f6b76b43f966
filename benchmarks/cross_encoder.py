"""Cross-encoder speed: our CrossEncoderReranker vs sentence-transformers CrossEncoder.predict.

Same model (a MiniLM-L6-shaped BERT cross-encoder: hidden 384, 6 layers, 12 heads, intermediate
1536, built from a config with seeded random weights, since no MS MARCO cross-encoder can be
downloaded here; speed does not depend on the weights' values) with the real all-MiniLM-L6-v2
tokenizer, the same inputs (SciFact BM25 top-100 (query, title + abstract) pairs), the same
``batch_size`` and ``max_length=512``, fp32 on CPU, in one process. Runs are interleaved
(ours, theirs, ours, theirs, ...) so machine noise hits both alike; we report the median.

    python benchmarks/cross_encoder.py [--queries 10] [--reps 3] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_section  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"
TOKENIZER = "sentence-transformers/all-MiniLM-L6-v2"


def build_model(folder: Path) -> Path:
    """MiniLM-L6-shaped BertForSequenceClassification (1 label) + the real MiniLM tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tok = AutoTokenizer.from_pretrained(TOKENIZER)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=384, num_hidden_layers=6,
                     num_attention_heads=12, intermediate_size=1536,
                     max_position_embeddings=512, num_labels=1)
    torch.manual_seed(0)
    BertForSequenceClassification(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def scifact_pairs(n_queries: int) -> list[tuple[str, str]]:
    from rankify_lite import load_dataset
    from rankify_lite.io.trec import read_run

    ds = load_dataset(SHARED)
    bm25 = read_run(SHARED / "runs" / "anserini-bm25-flat.top1000.trec.gz").top(100)
    qids = list(bm25)[:n_queries]
    return [(ds.queries[q].text, ds.corpus[d].full_text()) for q in qids
            for d in bm25[q].doc_ids]


def timed(fn, pairs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(pairs)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10, help="queries x 100 pairs")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import numpy as np
    import torch
    from sentence_transformers import CrossEncoder

    from rankify_lite.rerankers.families.cross_encoder import CrossEncoderReranker

    if args.threads:
        torch.set_num_threads(args.threads)
    pairs = scifact_pairs(args.queries)
    with tempfile.TemporaryDirectory() as tmp:
        folder = str(build_model(Path(tmp) / "minilm-l6-ce"))
        bs = args.batch_size
        systems = {
            "sentence-transformers CrossEncoder.predict": CrossEncoder(
                folder, max_length=512, device="cpu").predict,
            "ours CrossEncoderReranker.predict": CrossEncoderReranker(
                folder, batch_size=bs, max_length=512, device="cpu").predict,
        }
        st_predict = systems["sentence-transformers CrossEncoder.predict"]
        systems["sentence-transformers CrossEncoder.predict"] = (
            lambda p: st_predict(p, batch_size=bs))
        for fn in systems.values():  # warm-up (allocator, thread pools)
            fn(pairs[:bs])
        times: dict[str, list[float]] = {name: [] for name in systems}
        outputs: dict[str, np.ndarray] = {}
        for _ in range(args.reps):
            for name, fn in systems.items():
                seconds, out = timed(fn, pairs)
                times[name].append(seconds)
                outputs[name] = np.asarray(out, dtype=np.float64)
    ref_name = "sentence-transformers CrossEncoder.predict"
    ref = statistics.median(times[ref_name])
    rows = []
    for name, ts in times.items():
        med = statistics.median(ts)
        diff = float(np.abs(outputs[name] - outputs[ref_name]).max())
        rows.append([name, f"{len(pairs) / med:.1f}", f"{med:.1f}", f"{ref / med:.2f}x",
                     f"{diff:.1e}"])
    table = markdown_table(["system", "pairs/s", "median s", "speed vs ST",
                            "max |score - ST|"], rows)
    body = (f"{len(pairs)} SciFact BM25 top-100 pairs ({args.queries} queries), MiniLM-L6-shaped "
            f"cross-encoder (random weights, real MiniLM tokenizer), fp32 CPU, batch_size {bs}, "
            f"max_length 512, torch threads {torch.get_num_threads()}, median of {args.reps} "
            f"interleaved runs.\n\n{table}\n\nOurs: one tokenizer call for all pairs, exact "
            "token-length sort, batches of at most batch_size pairs and batch_size x 512 "
            "padded tokens, vectorised padding, inference_mode, SDPA. GPU path (bf16/fp16, "
            "out-of-memory halving) is not measured here: no GPU in this session.")
    print(body)
    write_section("cross_encoder", body)


if __name__ == "__main__":
    main()
