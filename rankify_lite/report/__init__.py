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


def report_html(folder: str | Path, dataset: str | Path | None = None, *,
                allow_changed: bool = False) -> str:
    """The HTML page of a result or leaderboard folder. A run file changed since the result
    was saved is refused, unless ``allow_changed`` (then the page marks it)."""
    from rankify_lite.report.html import render_html
    from rankify_lite.report.load import load_folder

    return render_html(_finite(load_folder(folder, dataset, allow_changed=allow_changed)))


def build_report(folder: str | Path, output: str | Path, dataset: str | Path | None = None, *,
                 allow_changed: bool = False, overwrite: bool = False) -> Path:
    """Write the report of ``folder`` to ``output`` (atomically); returns its path.

    ``output`` is checked first (:mod:`rankify_lite.report.output`): never a file of
    ``folder`` (inside it only an ``.html`` file), and an existing file only when it is a
    report rankify-lite wrote, unless ``overwrite``."""
    from rankify_lite.io.files import atomic_write
    from rankify_lite.report.output import check_output

    output = check_output(folder, output, overwrite)
    page = report_html(folder, dataset, allow_changed=allow_changed)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(output) as fh:
        fh.write(page)
    return output


__all__ = ["build_report", "report_html"]
