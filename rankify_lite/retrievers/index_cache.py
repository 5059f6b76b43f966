"""On-disk index cache: one folder per (corpus content, index settings), built atomically.

An index is built in a temporary sibling folder and renamed into place only when complete, with
a ``COMPLETE.json`` marker written last inside it. A folder without the marker (a killed run,
a copy gone wrong) is never taken as an index: it is removed and rebuilt. Leftover temporary
folders are ignored (and swept once they are old).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rankify_lite.cache import cache_dir, content_key

MARKER = "COMPLETE.json"
_TMP_TAG = ".tmp-"
_STALE_TMP_S = 24 * 3600


def index_path(family: str, corpus_hash: str, settings: dict[str, Any],
               root: str | Path | None = None) -> Path:
    """Where the index for this corpus content and these settings lives (not created)."""
    base = Path(root) if root is not None else cache_dir("indexes", family)
    return base / content_key(corpus_hash, settings)


def is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def _sweep_stale_tmp(folder: Path) -> None:
    now = time.time()
    for p in folder.parent.glob(f"{folder.name}{_TMP_TAG}*"):
        try:
            if now - p.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:  # pragma: no cover - raced with another process
            pass


def build_or_open(folder: Path, build: Callable[[Path], dict[str, Any]],
                  info: dict[str, Any]) -> tuple[Path, bool]:
    """Return ``(folder, built)``: open ``folder`` if complete, else build it atomically.

    ``build(tmp_dir)`` writes the index into ``tmp_dir`` and returns extra facts for the marker.
    """
    if is_complete(folder):
        return folder, False
    folder.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale_tmp(folder)
    tmp = folder.with_name(f"{folder.name}{_TMP_TAG}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        facts = build(tmp)
        marker = {**info, **facts, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        (tmp / MARKER).write_text(json.dumps(marker, indent=1, default=str))
        if folder.exists() and not is_complete(folder):
            shutil.rmtree(folder)  # an incomplete folder: never trust it
        try:
            os.replace(tmp, folder)
        except OSError:
            if not is_complete(folder):  # pragma: no cover - unexpected filesystem error
                raise
            # another process finished the same index first: use theirs
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder, True
