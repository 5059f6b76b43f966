"""Cached stage outputs that are verified before they are served.

A cached run is two files: ``<stem>.trec`` and ``<stem>.json``. The JSON records the run's
metadata and an ``integrity`` block (sha256 of the TREC file, its line and query counts),
written after the run file, both atomically. A cached run is served only when both files are
there and the TREC file matches its record; anything else (a file cut at a line boundary, a
garbled or missing JSON, a folder in a file's place, an old cache without a record) is removed
and recomputed, with a note saying why, never a traceback and never a wrong result.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.files import atomic_write
from rankify_lite.io.trec import read_run, write_run
from rankify_lite.types import Run

FORMAT = 2


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@dataclass
class RunCache:
    """Verified run files under ``root``; ``notes`` collects what was found broken."""

    root: Path
    notes: list[str] = field(default_factory=list)

    def paths(self, stem: str) -> tuple[Path, Path]:
        return self.root / f"{stem}.trec", self.root / f"{stem}.json"

    def load(self, stem: str, name: str, what: str) -> Run | None:
        """The cached run, or None (nothing cached, or a broken entry, removed with a note)."""
        run_path, meta_path = self.paths(stem)
        if not run_path.exists() and not meta_path.exists():
            return None
        problem = self._problem(run_path, meta_path)
        if problem is None:
            try:
                record = json.loads(meta_path.read_text(encoding="utf-8"))
                return read_run(run_path, name=name).replace(metadata=record["metadata"])
            except (InputError, OSError, ValueError, KeyError, TypeError) as exc:
                problem = f"unreadable ({type(exc).__name__})"
        self.notes.append(f"cached {what} ({run_path.name}) was {problem}; recomputed")
        _remove(run_path)
        _remove(meta_path)
        return None

    @staticmethod
    def _problem(run_path: Path, meta_path: Path) -> str | None:
        if not run_path.is_file():
            return "missing or not a file"
        if not meta_path.is_file():
            return "missing its integrity record"
        try:
            record = json.loads(meta_path.read_text(encoding="utf-8"))
            integrity = record["integrity"]
            if record.get("format") != FORMAT or not isinstance(record.get("metadata"), dict):
                return "written by another version"
            if file_sha256(run_path) != integrity["sha256"]:
                return "incomplete or changed (its sha256 does not match the record)"
        except (OSError, ValueError, KeyError, TypeError):
            return "recorded in a garbled integrity file"
        return None

    def store(self, stem: str, run: Run) -> None:
        """Write the run, then its record; refuses an empty run (nothing worth caching)."""
        if not len(run) or not any(len(rl) for rl in run.values()):
            return
        run_path, meta_path = self.paths(stem)
        for p in (run_path, meta_path):
            if p.is_dir():
                _remove(p)
        write_run(run, run_path)
        lines = sum(len(rl) for rl in run.values())
        record = {"format": FORMAT, "metadata": dict(run.metadata),
                  "integrity": {"sha256": file_sha256(run_path), "lines": lines,
                                "queries": len(run)}}
        with atomic_write(meta_path) as fh:
            json.dump(record, fh, indent=1, default=str)

    def record(self, stem: str) -> dict[str, Any]:
        _, meta_path = self.paths(stem)
        return json.loads(meta_path.read_text(encoding="utf-8"))
