"""Dense encoding on a GPU: our ``DenseEncoder`` vs sentence-transformers ``encode``, same
model shape (MiniLM-L6: BERT hidden 384, 6 layers, random weights from a config, real MiniLM
tokenizer, mean pooling, max_length 256), on the 5,183 SciFact abstracts (title + text).

sentence-transformers runs at its defaults (fp32, batch 32) and in bf16 at batch 256; ours
runs bf16 (its GPU default) at batch 256.

    python benchmarks/gpu_dense.py [--out DIR]     # on the GPU machine
    python benchmarks/gpu_dense.py --small         # any CPU: tiny model, 200 abstracts
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
from _gpu import device_name, emit, runtime, scifact_docs, tokenizer_folder  # noqa: E402
from _results import markdown_table  # noqa: E402


def build(folder: Path, small: bool) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tok = AutoTokenizer.from_pretrained(tokenizer_folder())
    shape = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=128) if small else \
        dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
             intermediate_size=1536)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tok), max_position_embeddings=512, **shape)
              ).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--docs", type=int, default=None, help="default: all (small: 200)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from rankify_lite.models import DenseEncoder

    small, on_gpu, device, sync = runtime(args.small)
    texts = scifact_docs(args.docs or (200 if small else None))
    reps = 1 if small else args.reps
    bs = args.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        folder = str(build(Path(tmp) / "minilm-l6", small))
        ours = DenseEncoder(folder, device=device, batch_size=bs, max_length=256,
                            progress=False)
        systems = {}
        for label, b, dtype in (("fp32, batch 32", 32, None), (f"bf16, batch {bs}", bs,
                                                              torch.bfloat16)):
            kwargs = {"model_kwargs": {"dtype": dtype}} if dtype is not None else {}
            st = SentenceTransformer(folder, device=device, **kwargs)
            st.max_seq_length = 256
            systems[f"sentence-transformers encode ({label})"] = (
                lambda m=st, b=b: m.encode(texts, batch_size=b, convert_to_numpy=True,
                                           show_progress_bar=False))
        systems[f"ours DenseEncoder ({ours.config()['dtype']}, batch {bs})"] = (
            lambda: ours.encode_documents(texts))
        for fn in systems.values():  # warm-up
            fn()
        results = {}
        for name, fn in systems.items():
            times = []
            for _ in range(reps):
                sync()
                t0 = time.perf_counter()
                out = np.asarray(fn(), dtype=np.float32)
                sync()
                times.append(time.perf_counter() - t0)
            results[name] = (statistics.median(times), out)
    st_names = [n for n in results if n.startswith("sentence")]
    best_st = min(results[n][0] for n in st_names)
    ref = results[st_names[0]][1]
    rows = []
    for name, (sec, out) in results.items():
        cos = (out * ref).sum(1) / np.linalg.norm(out, axis=1) / np.linalg.norm(ref, axis=1)
        rows.append([name, f"{len(texts) / sec:,.0f}", f"{sec:.2f}", f"{best_st / sec:.2f}x",
                     f"{cos.min():.4f}"])
    ours_name = [n for n in results if n.startswith("ours")][0]
    table = markdown_table(["encoder", "docs/s", "median s", "vs fastest ST",
                            "min cosine vs ST fp32"], rows)
    note = " (--small: tiny model, not the H100 goal)" if small else ""
    body = (f"Device: **{device_name()}**{note}.\n\n{len(texts):,} SciFact abstracts, "
            f"{'tiny' if small else 'MiniLM-L6-shaped'} BERT (random weights, real MiniLM "
            f"tokenizer), mean pooling, max_length 256, median of {reps} after a warm-up.\n\n"
            f"{table}\n\nOurs / fastest sentence-transformers: "
            f"**{best_st / results[ours_name][0]:.2f}x** (goal: 1.5x).")
    emit("gpu_dense", body, args.out, on_gpu)


if __name__ == "__main__":
    main()
