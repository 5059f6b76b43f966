"""llama.cpp on the CPU: GGUF precision, prompt-processing threads, batch sizes and flash
attention, against transformers fp32 on the same DL19 windows.

    python benchmarks/llamacpp_tuning.py [--queries 2] [--reps 2]

The windows are ``benchmarks/llm_engines.py``'s (DL19, BM25 top 20, window 10, stride 5, 40
words per passage, SmolLM2-135M-Instruct), so the rows sit beside that script's
``llm_engines_llamacpp`` figures. For every configuration: FIRST seconds per window (one
next-token read per window, prefix reuse off, so each window's whole prompt is processed; best
of ``--reps``), listwise generation seconds per window (39 greedy tokens) for the rows marked
``gen``, and agreement with transformers fp32: the centred identifier logits' largest
difference and correlation, the windows whose full identifier ordering is identical, and the
mean Kendall tau of the orderings.

The GGUF files are ``~/.cache/rankify-lite/gguf/SmolLM2-135M-Instruct.{F32,BF16,Q8_0,Q4_1}.gguf``
(F32/BF16/Q8_0 converted from the offline Hugging Face weights with llama.cpp's own
``convert_hf_to_gguf.py``; Q4_1 from ``scripts/install_gguf.py``); a missing file is a row
that says so. Writes the ``llamacpp_tuning`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("RANKIFY_LITE_DATA", str(HERE.parents[1] / "shared" / "data"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _results import markdown_table, write_section  # noqa: E402
from llm_engines import SMOL, agreement, correlation, window_prompts  # noqa: E402

NAME = "llamacpp_tuning"
GGUF_DIR = Path.home() / ".cache" / "rankify-lite" / "gguf"
#: (label, GGUF type, backend options, measure generation too)
CONFIGS = [
    ("F32, defaults", "F32", {}, True),
    ("BF16, defaults", "BF16", {}, True),
    ("Q8_0, defaults", "Q8_0", {}, True),
    ("Q4_1, defaults", "Q4_1", {}, True),
    ("Q8_0, prompt threads 1", "Q8_0", {"n_threads_batch": 1}, False),
    ("Q8_0, n_ubatch 128", "Q8_0", {"n_ubatch": 128}, False),
    ("Q8_0, n_batch 2048, n_ubatch 2048", "Q8_0", {"n_batch": 2048, "n_ubatch": 2048}, False),
    ("Q8_0, flash attention", "Q8_0", {"flash_attn": True}, True),
    ("Q4_1, n_ubatch 128", "Q4_1", {"n_ubatch": 128}, False),
    ("Q4_1, flash attention", "Q4_1", {"flash_attn": True}, True),
    ("F32, flash attention", "F32", {"flash_attn": True}, False),
]


def kendall(ref: dict, other: dict) -> float:
    from scipy.stats import kendalltau

    taus = [kendalltau(a, b).statistic for a, b in zip(ref["values"], other["values"],
                                                       strict=True)]
    return sum(taus) / len(taus)


def measure(backend, prompts, token_ids, max_new: int, reps: int, gen: bool) -> dict:
    backend.next_token_logits(prompts[:1], token_ids)  # warm-up
    best, values = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = backend.next_token_logits(prompts, token_ids)
        best = min(best, time.perf_counter() - t0)
        values = out.logits
    row = {"first_s": best, "values": [[float(v) for v in r] for r in values], "texts": None}
    if gen:
        t0 = time.perf_counter()
        gens = backend.generate(prompts, max_new, max_new)
        row["gen_s"] = time.perf_counter() - t0
        row["texts"] = [g.text for g in gens]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=2)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--stride", type=int, default=5)
    ap.add_argument("--passage-words", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()

    import torch

    from rankify_lite.rerankers.engines.llamacpp_backend import LlamaCppBackend

    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()
    _, _, _, local, prompts, max_new = window_prompts(args)
    ids = local.identifier_ids
    ref = measure(local.backend, prompts, ids, max_new, args.reps, True)
    rows, notes = [], []
    results = {"transformers fp32 (reference)": ref}
    for label, kind, opts, gen in CONFIGS:
        path = GGUF_DIR / f"SmolLM2-135M-Instruct.{kind}.gguf"
        if not path.is_file():
            notes.append(f"{label}: not run (no {path.name}; see the docstring)")
            continue
        backend = LlamaCppBackend(str(path), tokenizer=SMOL, n_threads=args.threads,
                                  max_context=2048, reuse_prefix=False, **opts)
        results[label] = measure(backend, prompts, ids, max_new, args.reps, gen)
        del backend
        print(label, f"{results[label]['first_s'] / len(prompts):.3f} s/window", flush=True)
    n = len(prompts)
    base = ref["first_s"]
    for label, r in results.items():
        worst, same, same_text = agreement(ref, {**r, "texts": r["texts"] or ref["texts"]})
        gen_cell = f"{r['gen_s'] / n:.3f}" if "gen_s" in r else ""
        text_cell = f"{same_text}/{n}" if r["texts"] is not None else ""
        rows.append([label, f"{r['first_s'] / n:.3f}", f"{base / r['first_s']:.2f}x", gen_cell,
                     f"{worst:.1e}", f"{correlation(ref, r):.4f}", f"{same}/{n}",
                     f"{kendall(ref, r):.3f}", text_cell])
    table = markdown_table(["configuration", "FIRST s/window", "FIRST vs transformers",
                            "listwise s/window", "max centred logit diff",
                            "centred correlation", "same ordering", "Kendall tau",
                            "same generated text"], rows)
    load1 = os.getloadavg()
    body = (f"Model `{SMOL}`, DL19 first {args.queries} queries, BM25 top {args.depth}, window "
            f"{args.window}, stride {args.stride}, {args.passage_words} words per passage: {n} "
            f"windows; FIRST best of {args.reps}, prefix reuse off; generation {max_new} tokens "
            f"per window; {args.threads} threads (llama.cpp and torch). Defaults: n_batch 512, "
            f"n_ubatch 512, prompt threads = threads, flash attention off.\n\n{table}"
            + "".join(f"\n\n{x}" for x in notes)
            + f"\n\nLoad average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end.")
    print(body)
    write_section(NAME, body)


if __name__ == "__main__":
    main()
