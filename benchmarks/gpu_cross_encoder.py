"""Cross-encoder on a GPU: ours vs sentence-transformers ``CrossEncoder.predict``, end to end
(tokenisation included), on SciFact BM25 top-100 pairs (29,966), MiniLM-L6 shape.

The model is a ``BertForSequenceClassification`` built from a config (hidden 384, 6 layers, 12
heads, intermediate 1536, 1 label; seeded random weights: speed does not depend on the values)
with the real all-MiniLM-L6-v2 tokenizer, max_length 512. sentence-transformers runs fp32 at
batch 32 and 128 and bf16 at batch 128; ours runs bf16 (its GPU default), length-sorted batches
under a token budget. Reports pairs/s and the fraction of the bf16 FLOP ceiling computed from
the pairs' real token counts.

    python benchmarks/gpu_assets.py                         # once, where the hub cache is
    python benchmarks/gpu_cross_encoder.py [--out DIR]      # on the GPU machine
    python benchmarks/gpu_cross_encoder.py --small          # any CPU: a tiny model, 3 queries
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gpu import device_name, emit, runtime, scifact_pairs, tokenizer_folder  # noqa: E402
from _results import markdown_table  # noqa: E402

ISSUE_CEILING = 54_000  # pairs/s, the issue's estimate for an H100


def build(folder: Path, small: bool) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tok = AutoTokenizer.from_pretrained(tokenizer_folder())
    shape = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=128) if small else \
        dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
             intermediate_size=1536)
    cfg = BertConfig(vocab_size=len(tok), max_position_embeddings=512, num_labels=1, **shape)
    torch.manual_seed(0)
    BertForSequenceClassification(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def flops_per_pair(lengths: np.ndarray, hidden: int, layers: int, inter: int) -> np.ndarray:
    """Forward FLOPs: 2 x weight MACs per token (QKVO + FFN) plus attention (QK^T and AV)."""
    per_token = 2 * layers * (4 * hidden * hidden + 2 * hidden * inter)
    attention = 2 * 2 * layers * hidden * lengths.astype(np.float64) ** 2
    return per_token * lengths + attention


def timed(fn, reps: int, sync) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        out = fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), np.asarray(out, dtype=np.float64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="tiny model, 3 queries (any CPU)")
    ap.add_argument("--queries", type=int, default=None, help="default: all 300 (small: 3)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=512, help="ours: pairs per batch")
    ap.add_argument("--max-tokens", type=int, default=65536, help="ours: padded tokens/batch")
    ap.add_argument("--peak-tflops", type=float, default=989.0,
                    help="dense bf16 peak of the device (H100 SXM: 989)")
    ap.add_argument("--out", default=None, help="also write <out>/gpu_cross_encoder.md")
    args = ap.parse_args()

    import torch
    from sentence_transformers import CrossEncoder

    from rankify_lite.rerankers.families.cross_encoder import CrossEncoderReranker

    small, on_gpu, device, sync = runtime(args.small)
    pairs = scifact_pairs(args.queries or (3 if small else None))
    reps = 1 if small else args.reps
    with tempfile.TemporaryDirectory() as tmp:
        folder = str(build(Path(tmp) / "minilm-l6-ce", small))
        ours = CrossEncoderReranker(folder, device=device, batch_size=args.batch_size,
                                    max_tokens=args.max_tokens, max_length=512)
        systems = {}
        for label, bs, dtype in (("fp32, batch 32", 32, None), ("fp32, batch 128", 128, None),
                                 ("bf16, batch 128", 128, torch.bfloat16)):
            kwargs = {"model_kwargs": {"dtype": dtype}} if dtype is not None else {}
            st = CrossEncoder(folder, device=device, max_length=512, **kwargs)
            systems[f"sentence-transformers predict ({label})"] = (
                lambda m=st, b=bs: m.predict(pairs, batch_size=b, show_progress_bar=False))
        systems[f"ours CrossEncoderReranker.predict ({ours.config()['dtype']})"] = (
            lambda: ours.predict(pairs))
        for fn in systems.values():  # warm-up: CUDA context, kernels, allocator
            fn()
        results = {name: timed(fn, reps, sync) for name, fn in systems.items()}
        enc = ours.tokenizer([p[0] for p in pairs], [p[1] for p in pairs],
                             truncation="longest_first", max_length=512)
        lengths = np.array([len(x) for x in enc["input_ids"]])
        cfg = ours.hf_config
    flops = flops_per_pair(lengths, cfg.hidden_size, cfg.num_hidden_layers,
                           cfg.intermediate_size).sum()
    ceiling = len(pairs) / (flops / (args.peak_tflops * 1e12))
    st_names = [n for n in results if n.startswith("sentence")]
    best_st = min(results[n][0] for n in st_names)
    ours_name = [n for n in results if n.startswith("ours")][0]
    ref = results[st_names[0]][1]
    rows = []
    for name, (sec, out) in results.items():
        rate = len(pairs) / sec
        rows.append([name, f"{rate:,.0f}", f"{sec:.2f}", f"{best_st / sec:.2f}x",
                     f"{rate / ceiling:.1%}", f"{np.abs(out - ref).max():.1e}"])
    table = markdown_table(["system", "pairs/s", "median s", "vs fastest ST",
                            "of FLOP ceiling", "max abs diff vs ST fp32"], rows)
    speedup = best_st / results[ours_name][0]
    note = " (--small: tiny model, not the H100 goal)" if small else ""
    body = (f"Device: **{device_name()}**{note}."
            f"\n\n{len(pairs):,} SciFact BM25 top-100 pairs, mean {lengths.mean():.0f} tokens "
            f"(max_length 512), {'tiny' if small else 'MiniLM-L6-shaped'} BERT cross-encoder "
            f"(random weights from a config, real MiniLM tokenizer), end to end with "
            f"tokenisation, median of {reps} after a warm-up.\n\n{table}\n\n"
            f"Ours / fastest sentence-transformers: **{speedup:.1f}x** (goal: 10x). FLOP "
            f"ceiling {ceiling:,.0f} pairs/s at {args.peak_tflops:.0f} TFLOP/s bf16 for these "
            f"token counts ({flops / len(pairs) / 1e9:.2f} GFLOP/pair; the issue's estimate: "
            f"{ISSUE_CEILING:,}); ours reaches {len(pairs) / results[ours_name][0] / ceiling:.1%} "
            f"of it. Ours: batch_size {args.batch_size}, max_tokens {args.max_tokens}.")
    emit("gpu_cross_encoder", body, args.out, on_gpu)


if __name__ == "__main__":
    main()
