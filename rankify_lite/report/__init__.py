"""HTML reports of saved results and leaderboards: ``rankify-lite report FOLDER -o report.html``.

>>> from rankify_lite.report import build_report
>>> build_report("runs/dl19", "report.html")          # doctest: +SKIP

One self-contained file (inline CSS, SVG and JavaScript; nothing fetched, so it opens offline):
the comparison table with significance marks, the effectiveness-latency and win/loss plots, and
a per-query view of each system's top 10 with relevance grades and reranker moves.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def _finite(obj: Any) -> Any:
    """JSON-safe: NaN / infinity become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def report_html(folder: str | Path, dataset: str | Path | None = None) -> str:
    """The HTML page of a result or leaderboard folder."""
    from rankify_lite.report.html import render_html
    from rankify_lite.report.load import load_folder

    return render_html(_finite(load_folder(folder, dataset)))


def build_report(folder: str | Path, output: str | Path,
                 dataset: str | Path | None = None) -> Path:
    """Write the report of ``folder`` to ``output`` (atomically); returns its path."""
    from rankify_lite.io.files import atomic_write

    page = report_html(folder, dataset)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(output) as fh:
        fh.write(page)
    return output


__all__ = ["build_report", "report_html"]
