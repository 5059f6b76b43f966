"""A float32 matrix written in row chunks that survives a kill: the next run resumes it.

``<stem>.npy`` appears (renamed into place) only when every row is written. Until then the rows
live in ``.<stem>.partial.npy`` (a memory map) and ``.<stem>.progress.json`` records how many
leading rows are on disk, written atomically after each chunk's pages are flushed, so a killed
job (Ctrl-C, kill -9, a lost node) leaves a file whose recorded rows are complete. The next
writer of the same stem reads the record and starts at the first missing row; a record that
does not match (another shape, a garbled file) starts over, with a note. Two processes writing
the same stem at once would overwrite each other's rows, so a writer holds an exclusive lock
(``.<stem>.lock``, ``fcntl.flock``: released by the kernel when its holder dies) while it
writes; the second waits for it and then finds the file complete. The stem is the caller's
cache key (content and encoder), never a process id, which is what lets another process resume.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.io.files import atomic_write


@contextlib.contextmanager
def exclusive(lock: Path, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock`` (no-op where fcntl or the folder is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; concurrent writers are the user's call
        yield
        return
    try:
        handle = open(lock, "a+")  # noqa: SIM115 - held for the whole block
    except OSError:  # a read-only cache: nothing to share
        yield
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"rankify-lite: {what}: waiting for another process writing the same file "
                  f"(lock {lock})", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # closing releases the lock


class ResumableMatrix:
    """Rows ``[0, n)`` of an (n, dim) float32 matrix, written in order, chunk by chunk.

    ``done`` is the number of leading rows already on disk (0 for a fresh start); write rows
    ``[done, ...)`` with :meth:`write` and call :meth:`finish` once ``done == n``. ``extra`` is
    the caller's own per-run tally (e.g. truncated documents), saved with the progress record
    and restored on resume.
    """

    def __init__(self, path: Path, n: int, dim: int) -> None:
        self.path, self.n, self.dim = Path(path), int(n), int(dim)
        stem = self.path.stem
        self.partial = self.path.with_name(f".{stem}.partial.npy")
        self.record = self.path.with_name(f".{stem}.progress.json")
        self.notes: list[str] = []
        self.done, self.extra = 0, {}
        saved = self._read_record()
        if saved is not None and self.partial.is_file():
            try:
                self.out = np.lib.format.open_memmap(self.partial, mode="r+")
            except (OSError, ValueError) as err:
                self.notes.append(f"{self.partial}: unreadable partial file ({err}); "
                                  "starting over")
            else:
                if self.out.shape == (self.n, self.dim) and self.out.dtype == np.float32:
                    self.done, self.extra = saved
                    return
                self.notes.append(f"{self.partial}: shape {self.out.shape} does not match "
                                  f"({self.n}, {self.dim}); starting over")
                del self.out
        self.record.unlink(missing_ok=True)
        self.out = np.lib.format.open_memmap(self.partial, mode="w+", dtype=np.float32,
                                             shape=(self.n, self.dim))

    def _read_record(self) -> tuple[int, dict[str, Any]] | None:
        try:
            data = json.loads(self.record.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            self.notes.append(f"{self.record}: unreadable progress record ({err}); "
                              "starting over")
            return None
        ok = (isinstance(data, dict) and data.get("rows") == self.n and data.get("dim") == self.dim
              and isinstance(data.get("done"), int) and 0 <= data["done"] <= self.n
              and isinstance(data.get("extra", {}), dict))
        if not ok:
            self.notes.append(f"{self.record}: progress record does not match this matrix "
                              f"({self.n} x {self.dim}); starting over")
            return None
        return data["done"], dict(data.get("extra", {}))

    @property
    def rows(self) -> np.ndarray:
        """The writable memory map (n, dim)."""
        return self.out

    def commit(self, stop: int, **extra: Any) -> None:
        """Rows ``[0, stop)`` are written: flush their pages, then record it."""
        self.out.flush()
        self.done = int(stop)
        self.extra.update(extra)
        with atomic_write(self.record) as fh:
            json.dump({"rows": self.n, "dim": self.dim, "done": self.done, "extra": self.extra},
                      fh)

    def finish(self) -> Path:
        """Rename the complete matrix into place and remove the progress record."""
        if self.done != self.n:
            raise RuntimeError(f"{self.path}: {self.done} of {self.n} rows written")
        self.out.flush()
        del self.out
        os.replace(self.partial, self.path)
        self.record.unlink(missing_ok=True)
        return self.path
