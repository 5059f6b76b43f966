"""FIRST vs generation on a GPU: one forward pass per window vs generating the permutation,
7B Mistral shape in bf16, 20-passage windows (~2,300 tokens), at equal batch (1, 8, 32).

Both sides run through our ``TransformersBackend``: FIRST is ``next_token_logits`` (one
decoder pass, the identifier logits at the last position, what ``FirstReranker`` calls);
generation is ``generate(..., 80 new tokens)`` (what the ``listwise`` family calls; 80 tokens
is a full "[B] > [A] > ..." answer for 20 passages). The model is ``MistralForCausalLM`` from
Mistral-7B's config with random bf16 weights built on the GPU (no download); prompts are random
token ids of the window length, since the cost depends on shapes only.

    python benchmarks/gpu_first.py [--out DIR]        # on the GPU machine (about 15 GB)
    python benchmarks/gpu_first.py --small            # any CPU: a tiny Mistral, short windows
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gpu import device_name, emit, runtime  # noqa: E402
from _results import markdown_table  # noqa: E402

MISTRAL_7B = dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                  max_position_embeddings=32768, rope_theta=1e6, sliding_window=None)
TINY = dict(vocab_size=1000, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
            sliding_window=None)
ISSUE = {1: (0.82, 7.8), 8: (0.072, 0.98), 32: (0.069, 0.31)}  # plain transformers, s/window


def word_tokenizer(vocab_size: int):
    """A word-level tokenizer over ``vocab_size`` made-up tokens (pad 0, eos 2)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {f"t{i}": i for i in range(vocab_size)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="t1"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="t0", unk_token="t1",
                                   eos_token="t2", bos_token="t3")


def build_model(small: bool, device: str):
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    cfg = MistralConfig(**(TINY if small else MISTRAL_7B), pad_token_id=0, eos_token_id=2,
                        bos_token_id=3)
    dtype = torch.float32 if device == "cpu" else torch.bfloat16
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = MistralForCausalLM(cfg)
    finally:
        torch.set_default_dtype(previous)
    return model.eval(), dtype


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--batches", default=None, help="comma list; default 1,8,32 (small: 1,2)")
    ap.add_argument("--tokens", type=int, default=None, help="window length (default 2300)")
    ap.add_argument("--new-tokens", type=int, default=None, help="generated tokens (80)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import numpy as np
    import torch

    from rankify_lite.rerankers.engines.llm_backend import TransformersBackend

    small, on_gpu, device, sync = runtime(args.small)
    batches = [int(b) for b in (args.batches or ("1,2" if small else "1,8,32")).split(",")]
    length = args.tokens or (128 if small else 2300)
    new_tokens = args.new_tokens or (16 if small else 80)
    reps = 1 if small else args.reps
    model, dtype = build_model(small, device)
    tok = word_tokenizer(model.config.vocab_size)
    rng = np.random.default_rng(0)
    identifiers = list(range(100, 120))  # 20 single-token "identifiers"
    rows = []
    for b in batches:
        backend = TransformersBackend(model, tok, device=device,
                                      dtype="bfloat16" if dtype == torch.bfloat16 else "float32",
                                      batch_size=b)
        # windows of slightly different lengths, as real prompts are (left padding happens)
        prompts = [rng.integers(10, model.config.vocab_size, size=length - int(rng.integers(
            0, max(1, length // 50)))).tolist() for _ in range(b)]
        first_t, gen_t = [], []
        backend.next_token_logits(prompts, identifiers)  # warm-up
        backend.generate(prompts[:1], 2, min_new_tokens=2)
        for _ in range(reps):
            sync()
            t0 = time.perf_counter()
            backend.next_token_logits(prompts, identifiers)
            sync()
            first_t.append((time.perf_counter() - t0) / b)
            t0 = time.perf_counter()
            outs = backend.generate(prompts, new_tokens, min_new_tokens=new_tokens)
            sync()
            gen_t.append((time.perf_counter() - t0) / b)
        assert all(o.output_tokens == new_tokens for o in outs), "generation stopped early"
        f, g = statistics.median(first_t), statistics.median(gen_t)
        issue = ISSUE.get(b) if not small else None
        rows.append([b, f"{f:.3f}", f"{g:.3f}", f"**{g / f:.1f}x**",
                     f"{issue[0]} / {issue[1]} ({issue[1] / issue[0]:.1f}x)" if issue else ""])
        del backend
        if on_gpu:
            torch.cuda.empty_cache()
    table = markdown_table(["batch (windows)", "FIRST s/window", f"generate {new_tokens} "
                            "tokens s/window", "generation / FIRST",
                            "issue's plain transformers (FIRST / gen, s)"], rows)
    shape = "tiny Mistral (--small, not the H100 goal)" if small else \
        "Mistral-7B shape (32 layers, hidden 4096, GQA 32/8), random weights"
    body = (f"Device: **{device_name()}**.\n\n{shape}, {str(dtype).replace('torch.', '')}, "
            f"windows of ~{length} tokens, {new_tokens} generated tokens, median of {reps}, "
            f"both through `TransformersBackend` (SDPA attention, left-padded batches).\n\n"
            f"{table}\n\nGoal: generation / FIRST >= 4x at equal batch.")
    emit("gpu_first", body, args.out, on_gpu)


if __name__ == "__main__":
    main()
