"""A leaderboard's output folder: the files it writes, and the folders it may write them to.

The folder follows the one rule of :mod:`rankify_lite.io.output_folder`: new, empty, or the
output of an earlier leaderboard run (its ``results.json``), which ``--overwrite`` replaces. The
command checks it before any system is computed; :func:`~rankify_lite.leaderboard.report.
write_reports` checks it again right before it writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from rankify_lite.io.output_folder import check_output_folder

MARKER = "results.json"
#: every file a leaderboard run writes (the plots only when matplotlib is installed)
FILES = ("table.md", "table.tex", "per_query.csv", MARKER, "expected.yaml", "latency.png",
         "winloss.png")


def previous_files(folder: Path) -> frozenset[str] | None:
    """The files an earlier leaderboard run wrote in ``folder``; None when its
    ``results.json`` is missing or is not a leaderboard summary."""
    try:
        summary = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or not {"name", "metrics", "datasets"} <= set(summary):
        return None
    return frozenset(FILES)


def check_folder(folder: str | Path, overwrite: bool = False) -> None:
    """Refuse ``folder`` unless it is new, empty or an earlier leaderboard output (with
    ``overwrite``); call it before computing."""
    check_output_folder(folder, FILES, previous=previous_files, overwrite=overwrite,
                        what="leaderboard output")
