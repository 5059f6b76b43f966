"""The plots' labels stay inside the picture and do not overlap: long system names are cut with
an ellipsis to the room there is, labels of close points stack, counts sit only in bars wide
enough for them."""

from __future__ import annotations

from rankify_lite.report.svg import fit, latency_plot, text_width, winloss_plot

LONG = "bm25.top100 >> cross-encoder:cross-encoder/ms-marco-MiniLM-L12-v2 % 100 >> first"


def _view(n: int) -> dict:
    systems = [{"name": f"s{i}", "display": f"{LONG} #{i}", "letter": "abcdefgh"[i],
                "mean": {"ndcg@10": 0.5 + 0.001 * i},            # all but on top of each other
                "seconds": None if i == 0 else 0.01 * (1 + i % 2)} for i in range(n)]
    return {"index": 0, "main": "ndcg@10", "labels": ["nDCG@10"], "systems": systems,
            "baseline": "s0",
            "winloss": {f"s{i}": [1, 9998, 1] if i % 2 else [5000, 0, 5000] for i in range(n)}}


def _box(p: dict) -> tuple[float, float, float]:
    x, w = float(p["lx"]), text_width(p["text"])
    return (x, x + w, float(p["ly"])) if p["anchor"] == "start" else (x - w, x, float(p["ly"]))


def test_scatter_labels_inside_and_apart():
    plot = latency_plot(_view(6))
    boxes = [_box(p) for p in plot["points"]]
    assert all(0 <= a and b <= plot["width"] for a, b, _ in boxes)
    cut = [p["text"] for p in plot["points"] if p["text"].endswith("\u2026")]
    assert cut and all(LONG.startswith(t[2:-1]) for t in cut)           # cut, and it shows
    for i, (a0, a1, y0) in enumerate(boxes):
        for b0, b1, y1 in boxes[i + 1:]:
            assert not (a0 < b1 and b0 < a1 and abs(y0 - y1) < 11)       # no two overlap


def test_winloss_labels_fit_left_of_the_bars_and_counts_fit_their_bar():
    plot = winloss_plot(_view(4))
    for row in plot["rows"]:
        assert row["text"].startswith(("b ", "c ", "d ")) and row["text"].endswith("\u2026")
        assert text_width(row["text"]) <= plot["label_x"]
        for seg in row["segments"]:
            if seg["count_x"] is not None:
                assert text_width(str(seg["n"])) < float(seg["w"])
        shown = [seg["count_x"] is not None for seg in row["segments"]]
        # b and d: 1 win, 9998 ties, 1 loss (slivers: no count); c: 5000 wins, 5000 losses
        assert shown == ([False, True, False] if row["text"][0] in "bd" else [True, True])


def test_fit_keeps_short_text_and_cuts_long_text():
    assert fit("a bm25", 200) == "a bm25"
    cut = fit(LONG, 80)
    assert cut.endswith("\u2026") and LONG.startswith(cut[:-1]) and text_width(cut) <= 80
    assert fit(LONG, 1) == ""


def test_fit_is_linear_in_the_length_of_the_text():
    """One long name must not hang the report: each character is measured once (review 5)."""
    import time

    started = time.monotonic()
    for n in (8_000, 80_000):
        cut = fit("w" * n, 80)
        assert cut.endswith("\u2026") and text_width(cut) <= 80
    assert time.monotonic() - started < 2
    text = "a Bm25 >> monoT5-base wide WW"
    for room in range(0, 200, 3):                   # the same cut as measuring each prefix
        cut = fit(text, room)
        best = max((k for k in range(1, len(text) + 1)
                    if text_width(text[:k] + "\u2026") <= room), default=0)
        expected = text if text_width(text) <= room else (text[:best] + "\u2026" if best else "")
        assert cut == expected, room
