"""The report's two plots as inline SVG (no plotting library, no network).

* :func:`latency_svg`: effectiveness (the main metric) against mean seconds per query, log
  scale, a point per system; systems without a timing (shipped runs) sit hollow on the left.
* :func:`winloss_svg`: per-query wins / ties / losses of each system against the baseline on
  the main metric, one stacked bar per system.
"""

from __future__ import annotations

import math
from html import escape
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


def latency_svg(view: dict[str, Any], width: int = 560, height: int = 340) -> str:
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

    parts = [f'<svg class="plot" id="latency-{view["index"]}" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(label)} against seconds per query">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" class="frame"/>']
    for t in _ticks(lo, hi):
        x = x_of(t)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" class="grid"/>'
                     f'<text x="{x:.1f}" y="{top + ph + 16}" class="tick" text-anchor="middle">'
                     f'{_fmt_s(t)}</text>')
    for k in range(5):
        v = ylo + (yhi - ylo) * k / 4
        y = y_of(v)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                     f'{v:.3f}</text>')
    placed: list[tuple[float, float]] = []
    for i, s in pts:
        x, y, c = x_of(s["seconds"]), y_of(s["mean"][main]), color(i)
        ly = y - 7
        while any(abs(px - x) < 120 and abs(py - ly) < 11 for px, py in placed):
            ly += 12                                   # labels of close points: stack them
        placed.append((x, ly))
        fill = c if s["seconds"] else "white"
        tip = f'{s["display"]}: {label} {s["mean"][main]:.4f}, ' + (
            _fmt_s(s["seconds"]) + " per query" if s["seconds"] else "untimed (precomputed)")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{fill}" stroke="{c}" '
                     f'stroke-width="2"><title>{escape(tip)}</title></circle>'
                     f'<text x="{x + 9 if x < left + pw * 0.55 else x - 9:.1f}" y="{ly:.1f}" '
                     f'class="pt" text-anchor="{"start" if x < left + pw * 0.55 else "end"}">'
                     f'{escape(s["letter"])} '
                     f'{escape(s["display"])}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 8}" class="axis" text-anchor="middle">'
                 'seconds per query (log scale; hollow: precomputed, untimed)</text>'
                 f'<text x="14" y="{top + ph / 2}" class="axis" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + ph / 2})">{escape(label)}</text></svg>')
    return "".join(parts)


def winloss_svg(view: dict[str, Any], width: int = 560) -> str:
    rows = [(i, s) for i, s in enumerate(view["systems"])
            if s["name"] != view["baseline"] and s["name"] in view["winloss"]]
    label = view["labels"][0] if view["labels"] else view["main"]
    bar, gap, left, top = 22, 10, 170, 30
    height = top + len(rows) * (bar + gap) + 36
    pw = width - left - 20
    parts = [f'<svg class="plot" id="winloss-{view["index"]}" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="wins, ties and losses against the baseline">',
             f'<text x="10" y="18" class="axis">queries where {escape(label)} is higher '
             f'(win), equal, lower (loss) than the baseline</text>']
    if not rows:
        parts.append(f'<text x="{left}" y="{top + 16}" class="tick">only the baseline: nothing to '
                     'compare</text></svg>')
        return "".join(parts)
    for k, (_i, s) in enumerate(rows):
        wins, ties, losses = view["winloss"][s["name"]]
        total = max(1, wins + ties + losses)
        y, x = top + k * (bar + gap), float(left)
        parts.append(f'<text x="{left - 8}" y="{y + bar * 0.7:.1f}" class="tick" '
                     f'text-anchor="end">{escape(s["letter"])} {escape(s["display"][:24])}</text>')
        for n, cls, what in ((wins, "win", "wins"), (ties, "tie", "ties"), (losses, "loss", "losses")):
            w = pw * n / total
            if n:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" '
                             f'class="{cls}"><title>{n} {what}</title></rect>')
                if w > 22:
                    parts.append(f'<text x="{x + w / 2:.1f}" y="{y + bar * 0.7:.1f}" '
                                 f'class="count" text-anchor="middle">{n}</text>')
            x += w
    parts.append(f'<text x="{left}" y="{height - 10}" class="tick">green: wins, grey: ties, '
                 'red: losses</text></svg>')
    return "".join(parts)
