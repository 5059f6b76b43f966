"""The geometry of the report's two plots (no plotting library, no network): plain data that
the page's template draws as inline SVG (so every label is escaped where the page is rendered,
in one place: :mod:`rankify_lite.report.html`).

* :func:`latency_plot`: effectiveness (the main metric) against mean seconds per query, log
  scale, a point per system; systems without a timing (shipped runs) sit hollow on the left.
* :func:`winloss_plot`: per-query wins / ties / losses of each system against the baseline on
  the main metric, one stacked bar per system.

Coordinates are formatted here (``"12.3"``); labels are the raw strings from the data.
"""

from __future__ import annotations

import math
from typing import Any

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten (and 2x, 5x when the span is short) between lo and hi."""
    out = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for f in ((1, 2, 5) if hi / lo < 1000 else (1,)):
            v = f * 10.0 ** e
            if lo <= v <= hi:
                out.append(v)
    return out


def _fmt_s(v: float) -> str:
    return f"{v * 1000:g} ms" if v < 1 else f"{v:g} s"


def _c(v: float) -> str:
    return f"{v:.1f}"


#: labels are drawn at this font size (report.css: .pt, .tick, .count)
LABEL_PX = 10


def _char_width(c: str) -> float:
    """One character's rough width in ems (capitals and wide letters count more)."""
    return 0.85 if c in "MWmw@%&" else 0.3 if c in "il.,:;'|!()[] " else (
        0.7 if c.isupper() else 0.58)


def text_width(text: str, px: float = LABEL_PX) -> float:
    """A rough, generous width of ``text`` in a sans-serif font of ``px`` pixels (no font
    metrics here: capitals and wide letters count more, so a label measured to fit does)."""
    return px * sum(_char_width(c) for c in text)


def fit(text: str, room: float, px: float = LABEL_PX) -> str:
    """``text``, or its start with an ellipsis, no wider than ``room`` pixels (see
    :func:`text_width`); "" when not even the ellipsis fits. Linear in the text's length:
    each character is measured once."""
    if text_width(text, px) <= room:
        return text
    budget = room - text_width("\u2026", px)
    width, end = 0.0, 0
    for c in text:
        width += px * _char_width(c)
        if width > budget:
            break
        end += 1
    return text[:end] + "\u2026" if end else ""


def latency_plot(view: dict[str, Any], width: int = 560, height: int = 340) -> dict[str, Any]:
    main, label = view["main"], view["labels"][0] if view["labels"] else view["main"]
    pts = [(i, s) for i, s in enumerate(view["systems"]) if main in s["mean"]]
    timed = [s["seconds"] for _, s in pts if s["seconds"]]
    left, right, top, bottom = 64, 24, 28, 46
    pw, ph = width - left - right, height - top - bottom
    lo = min(timed) / 3 if timed else 1e-3
    hi = max(timed) * 3 if timed else 1.0
    ys = [s["mean"][main] for _, s in pts] or [0.0, 1.0]
    ylo, yhi = min(ys), max(ys)
    pad = max(0.02, (yhi - ylo) * 0.15)
    ylo, yhi = max(0.0, ylo - pad), min(1.0, yhi + pad) if yhi <= 1 else yhi + pad

    def x_of(v: float | None) -> float:
        v = lo if not v else v
        return left + pw * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    def y_of(v: float) -> float:
        return top + ph * (1 - (v - ylo) / ((yhi - ylo) or 1))

    yticks = []
    for k in range(5):
        v = ylo + (yhi - ylo) * k / 4
        yticks.append({"y": _c(y_of(v)), "ty": _c(y_of(v) + 4), "text": f"{v:.3f}"})
    placed: list[tuple[float, float, float]] = []   # each label's left end, right end, baseline
    points = []
    for i, s in pts:
        x, y, c = x_of(s["seconds"]), y_of(s["mean"][main]), color(i)
        near_left = x < left + pw * 0.55
        room = (width - 2 - (x + 9)) if near_left else (x - 9 - 2)   # to the edge of the plot
        text = fit(f'{s["letter"]} {s["display"]}', room)
        x0, x1 = (x + 9, x + 9 + text_width(text)) if near_left else (x - 9 - text_width(text),
                                                                      x - 9)
        ly = y - 7
        while any(a < x1 + 4 and x0 < b + 4 and abs(py - ly) < 11 for a, b, py in placed):
            ly += 12                                   # labels of close points: stack them
        placed.append((x0, x1, ly))
        points.append({
            "x": _c(x), "y": _c(y), "color": c, "fill": c if s["seconds"] else "white",
            "tip": f'{s["display"]}: {label} {s["mean"][main]:.4f}, ' + (
                _fmt_s(s["seconds"]) + " per query" if s["seconds"] else "untimed (precomputed)"),
            "lx": _c(x + 9 if near_left else x - 9), "ly": _c(ly),
            "anchor": "start" if near_left else "end", "text": text})
    return {"index": view["index"], "width": width, "height": height, "label": label,
            "left": left, "top": top, "pw": pw, "ph": ph, "bottom": top + ph,
            "right": left + pw, "xtick_y": top + ph + 16, "ytick_x": left - 6,
            "xticks": [{"x": _c(x_of(t)), "text": _fmt_s(t)} for t in _ticks(lo, hi)],
            "yticks": yticks, "points": points, "axis_x": left + pw / 2, "axis_y": height - 8,
            "mid_y": top + ph / 2}


def winloss_plot(view: dict[str, Any], width: int = 560) -> dict[str, Any]:
    rows = [(i, s) for i, s in enumerate(view["systems"])
            if s["name"] != view["baseline"] and s["name"] in view["winloss"]]
    label = view["labels"][0] if view["labels"] else view["main"]
    bar, gap, left, top = 22, 10, 170, 30
    height = top + len(rows) * (bar + gap) + 36
    pw = width - left - 20
    out = []
    for k, (_i, s) in enumerate(rows):
        wins, ties, losses = view["winloss"][s["name"]]
        total = max(1, wins + ties + losses)
        y, x = top + k * (bar + gap), float(left)
        segments = []
        for n, cls, what in ((wins, "win", "wins"), (ties, "tie", "ties"),
                             (losses, "loss", "losses")):
            w = pw * n / total
            if n:  # the count is written inside its segment only where it fits
                fits = text_width(str(n)) + 6 <= w
                segments.append({"x": _c(x), "w": _c(w), "cls": cls, "title": f"{n} {what}",
                                 "n": n, "count_x": _c(x + w / 2) if fits else None})
            x += w
        out.append({"y": y, "ty": _c(y + bar * 0.7),   # the label fits left of the bars
                    "text": fit(f'{s["letter"]} {s["display"]}', left - 8 - 4),
                    "segments": segments})
    return {"index": view["index"], "width": width, "height": height, "label": label,
            "left": left, "bar": bar, "label_x": left - 8, "rows": out,
            "empty_y": top + 16, "foot_y": height - 10}
