"""The CPU's matmul ceiling, measured with torch in the benchmark's own run, and the FLOPs a
BERT-shaped encoder spends on the real (unpadded) tokens of its inputs.

* ``matmul_peak(threads)``: best GFLOP/s of square fp32 and bf16 ``torch.mm`` and GOP/s of
  int8 ``torch._int_mm`` (int8 x int8 -> int32; AMX or AVX512-VNNI through oneDNN when the
  CPU has them) over a few repetitions;
* ``encoder_flops(config, lengths)``: per layer and token the Q, K, V, output and two FFN
  matmuls (2 * (4 d^2 + 2 d f)) plus attention scores and mixing (4 L d per token of a
  length-L sequence); embeddings, softmax and norms are left out (a lower bound).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def matmul_peak(threads: int, n: int = 1024, reps: int = 5) -> dict[str, float]:
    import torch

    torch.set_num_threads(threads)
    out: dict[str, float] = {}
    torch.manual_seed(0)
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(n, n).to(dtype)
        b = torch.randn(n, n).to(dtype)
        torch.mm(a, b)
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - t0)
        out[name] = 2 * n ** 3 / best / 1e9
    try:
        a8 = torch.randint(-128, 127, (n, n), dtype=torch.int8)
        b8 = torch.randint(-128, 127, (n, n), dtype=torch.int8)
        torch._int_mm(a8, b8)
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            torch._int_mm(a8, b8)
            best = min(best, time.perf_counter() - t0)
        out["int8"] = 2 * n ** 3 / best / 1e9
    except (RuntimeError, AttributeError):  # no int8 matmul kernel on this CPU / build
        pass
    return out


def merge_peaks(*peaks: dict[str, float]) -> dict[str, float]:
    """The best of several measurements per kind (the machine is shared: the max is the
    least disturbed one)."""
    out: dict[str, float] = {}
    for p in peaks:
        for k, v in p.items():
            out[k] = max(out.get(k, 0.0), v)
    return out


def encoder_flops(config: Any, lengths: np.ndarray) -> float:
    d = int(config.hidden_size)
    f = int(config.intermediate_size)
    layers = int(config.num_hidden_layers)
    lengths = np.asarray(lengths, dtype=np.float64)
    per_token = 2 * (4 * d * d + 2 * d * f)
    return float(layers * (per_token * lengths.sum() + 4 * d * (lengths ** 2).sum()))
