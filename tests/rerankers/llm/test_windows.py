"""Sliding-window arithmetic: spans, the count formula and in-place permutation."""

from __future__ import annotations

import math

import pytest

from rankify_lite.errors import InputError
from rankify_lite.rerankers.llm.windows import apply_permutation, num_windows, window_spans


def test_default_windows_are_nine_bottom_up():
    spans = window_spans(100, 20, 10)
    assert [s for s, _ in spans] == [80, 70, 60, 50, 40, 30, 20, 10, 0]
    assert all(e - s == 20 for s, e in spans)
    assert num_windows(100, 20, 10) == 9


@pytest.mark.parametrize("n,w,s,expected", [
    (100, 20, 10, 9), (5, 20, 10, 1), (20, 20, 10, 1), (21, 20, 10, 2), (95, 20, 10, 9),
    (96, 20, 10, 9), (30, 20, 10, 2), (100, 20, 20, 5), (100, 4, 2, 49), (1, 1, 1, 1),
    (0, 20, 10, 0), (7, 3, 2, 3),
])
def test_count_formula_matches_spans(n, w, s, expected):
    spans = window_spans(n, w, s)
    assert len(spans) == num_windows(n, w, s) == expected
    if n > w:
        assert expected == 1 + math.ceil((n - w) / s)
    if spans:
        # every position is covered, the last window starts at 0, windows never exceed n
        covered = {i for a, b in spans for i in range(a, b)}
        assert covered == set(range(n))
        assert spans[-1][0] == 0 and all(0 <= a < b <= n for a, b in spans)


def test_depth_not_multiple_of_stride_clips_last_window_at_zero():
    below = [(75, 95), (65, 85), (55, 75), (45, 65), (35, 55), (25, 45), (15, 35), (5, 25)]
    # the reference (rank_llm) keeps the end of the top window; "full" keeps its size
    assert window_spans(95, 20, 10) == [*below, (0, 15)]
    assert window_spans(95, 20, 10, top_window="full") == [*below, (0, 20)]
    with pytest.raises(InputError, match="top_window"):
        window_spans(95, 20, 10, top_window="top")


@pytest.mark.parametrize("top", ["reference", "full"])
@pytest.mark.parametrize("n,w,s", [(100, 20, 10), (95, 20, 10), (7, 3, 2), (33, 8, 3),
                                   (10, 20, 10), (20, 20, 10), (1, 1, 1)])
def test_both_top_windows_cover_everything_with_the_same_count(n, w, s, top):
    spans = window_spans(n, w, s, top_window=top)
    assert len(spans) == num_windows(n, w, s)
    assert {i for a, b in spans for i in range(a, b)} == set(range(n))
    assert all(b - a == min(w, n) for a, b in spans[:-1]) and spans[-1][0] == 0


@pytest.mark.parametrize("w,s", [(0, 1), (4, 0), (4, 5)])
def test_bad_window_settings_are_refused(w, s):
    with pytest.raises(InputError, match="Fix:"):
        num_windows(10, w, s)


def test_apply_permutation_reorders_only_the_span():
    order = list(range(6))
    apply_permutation(order, (2, 5), [2, 0, 1])
    assert order == [0, 1, 4, 2, 3, 5]
    with pytest.raises(ValueError):
        apply_permutation(order, (0, 3), [0, 0, 1])
