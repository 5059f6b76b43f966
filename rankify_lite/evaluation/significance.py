"""Paired significance tests and multiple-testing correction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TESTS = ("t-test", "randomization")
CORRECTIONS = ("holm", "bonferroni", "none")


def paired_test(a: np.ndarray, b: np.ndarray, test: str = "t-test", n_resamples: int = 10_000,
                seed: int = 0) -> float:
    """Two-sided p-value that per-query scores ``a`` and ``b`` have the same mean.

    ``t-test``: Student's paired t-test. ``randomization``: Fisher's paired randomization test
    (random sign flips of the per-query differences; p = (hits + 1) / (n_resamples + 1)).
    Identical score vectors give p = 1.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired test needs equal lengths, got {a.shape} and {b.shape}")
    diff = a - b
    if not np.any(diff):
        return 1.0
    if test == "t-test":
        return _paired_t(diff)
    if test == "randomization":
        rng = np.random.default_rng(seed)
        observed = abs(diff.mean())
        hits = 0
        chunk = 2_000
        for start in range(0, n_resamples, chunk):
            n = min(chunk, n_resamples - start)
            signs = rng.integers(0, 2, size=(n, diff.size), dtype=np.int8) * 2 - 1
            hits += int(np.count_nonzero(np.abs(signs @ diff) / diff.size >= observed - 1e-12))
        return (hits + 1) / (n_resamples + 1)
    raise ValueError(f"unknown test {test!r}; use one of {TESTS}")


def _paired_t(diff: np.ndarray) -> float:
    """Student's paired t-test on the differences, two-sided: ``scipy.stats.ttest_rel``'s
    statistic and p-value (tests check they agree), through scipy.special's t distribution, so
    a comparison does not import scipy.stats (~1 s)."""
    from scipy.special import stdtr

    n = diff.size
    if n < 2:
        return 1.0
    sd = float(np.std(diff, ddof=1))
    if sd == 0.0:  # every query moved by the same nonzero amount: t is infinite, as scipy's
        return 0.0
    t = float(np.mean(diff)) / (sd / np.sqrt(n))
    p = float(2.0 * stdtr(n - 1, -abs(t)))
    return 1.0 if np.isnan(p) else min(p, 1.0)


def correct(pvalues: Sequence[float], method: str = "holm") -> list[float]:
    """Adjusted p-values: Holm's step-down (default), Bonferroni, or none."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    if method == "none" or m == 0:
        return p.tolist()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0).tolist()
    if method == "holm":
        order = np.argsort(p, kind="stable")
        adjusted = np.empty(m)
        running = 0.0
        for rank, idx in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p[idx]))
            adjusted[idx] = running
        return adjusted.tolist()
    raise ValueError(f"unknown correction {method!r}; use one of {CORRECTIONS}")
