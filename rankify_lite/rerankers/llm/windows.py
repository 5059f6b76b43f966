"""Sliding windows for listwise reranking, processed from the bottom of the list up.

For ``n`` candidates, window ``w`` and stride ``s`` the windows start at ``n - w``,
``n - w - s``, ... and the last one starts at 0 (it is clipped there). Their number is

    num_windows(n, w, s) = 1                          if n <= w
                         = 1 + ceil((n - w) / s)      otherwise

so the defaults (n=100, w=20, s=10) give 9 windows starting at 80, 70, ..., 10, 0. Each window
reorders its documents in place before the next (higher) window is formed, which lets a strong
document climb from the bottom to the top in one pass.

When ``n - w`` is not a multiple of ``s`` the top window is clipped at 0, in one of two ways:

* ``top_window="reference"`` (the default) keeps the window's end, as rank_llm's
  ``sliding_windows`` does: n=95 ends with (5, 25) then (0, 15);
* ``top_window="full"`` keeps a full window (0, w): n=95 ends with (5, 25) then (0, 20).

For n <= w both give the single window (0, n) (rank_llm with ``top_k_retrieve`` = n; with
its default ``top_k_retrieve=100`` it skips n = w - s entirely, which is not reproduced).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rankify_lite.errors import InputError


def check_window(window: int, stride: int) -> None:
    if window < 1:
        raise InputError(f"window_size must be >= 1, got {window}.", fix="use e.g. window_size=20.")
    if not 1 <= stride:
        raise InputError(f"stride must be >= 1, got {stride}.", fix="use e.g. stride=10.")
    if stride > window:
        raise InputError(f"stride {stride} is larger than window_size {window}: documents "
                         "between windows would never be compared.",
                         fix="use a stride <= window_size (e.g. half the window).")


def num_windows(n: int, window: int, stride: int) -> int:
    """How many windows a list of ``n`` candidates needs (0 for an empty list)."""
    check_window(window, stride)
    if n <= 0:
        return 0
    if n <= window:
        return 1
    return 1 + math.ceil((n - window) / stride)


TOP_WINDOWS = ("reference", "full")


def window_spans(n: int, window: int, stride: int,
                 top_window: str = "reference") -> list[tuple[int, int]]:
    """``(start, end)`` of every window in processing order (bottom first)."""
    check_window(window, stride)
    if top_window not in TOP_WINDOWS:
        raise InputError(f"unknown top_window {top_window!r}.",
                         fix=f"use one of {list(TOP_WINDOWS)}.")
    spans: list[tuple[int, int]] = []
    if n <= 0:
        return spans
    start, end = n - window, n
    while True:
        lo = max(start, 0)
        spans.append((lo, end if top_window == "reference" else min(lo + window, n)))
        if lo == 0:
            return spans
        start -= stride
        end -= stride


def apply_permutation(order: list[int], span: tuple[int, int], perm: Sequence[int]) -> None:
    """Reorder ``order[start:end]`` so position k holds the old window item ``perm[k]``."""
    start, end = span
    window = order[start:end]
    if sorted(perm) != list(range(len(window))):
        raise ValueError(f"not a permutation of {len(window)} items: {list(perm)}")
    order[start:end] = [window[p] for p in perm]
