"""Cached stage outputs that are verified before they are served.

A cached run is two files: ``<stem>.trec`` and ``<stem>.json``. The JSON records the run's
metadata and an ``integrity`` block (sha256 of the TREC file, its line and query counts),
written after the run file, both atomically. A cached run is served only when both files are
there and the TREC file matches its record; anything else (a file cut at a line boundary, a
garbled or missing JSON, a folder in a file's place, an old cache without a record) is removed
and recomputed, with a note saying why, never a traceback and never a wrong result.

Two identical runs started together on one cache don't both compute: :meth:`RunCache.load` of
an entry that is not there takes a lock for it (``<stem>.lock``, holding the pid and host),
which :meth:`RunCache.store` (or the end of the process) releases. A second run finding the
lock held by a live process waits for it, then serves the first run's result; a lock left by a
process that is gone (a kill -9) is broken, with a note. A holder running on this host is waited
for as long as it runs (its liveness is checked at every poll: a multi-hour rerank is not given
up on). A lock this host cannot check (held on another host: a shared cache on NFS, a cluster
job that died) is waited for at most ``RANKIFY_LITE_LOCK_TIMEOUT`` seconds (default 30
minutes). The wait says once, on stderr, who holds the lock, since when and which file to delete
to break it, and giving up is one line.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.files import atomic_write
from rankify_lite.io.trec import read_own_run, write_run
from rankify_lite.pipeline.saved import file_sha256
from rankify_lite.types import Run

_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
FORMAT = 3  # 3: reranked runs order tied scores as trec_eval does (#23)
#: seconds a run waits for a lock another process holds before giving up
LOCK_TIMEOUT_ENV = "RANKIFY_LITE_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 30 * 60.0


def lock_timeout() -> float:
    """``$RANKIFY_LITE_LOCK_TIMEOUT`` (seconds, a positive ASCII number), else the default."""
    from rankify_lite.io.numbers import POSITIVE

    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT_S
    return float(POSITIVE.parse(raw, LOCK_TIMEOUT_ENV, fix=f"e.g. {LOCK_TIMEOUT_ENV}=600 "
                                f"(seconds; default {DEFAULT_LOCK_TIMEOUT_S:.0f})."))


def _since(holder: dict[str, Any], path: Path) -> str:
    """When the lock was taken (its record, else the file's time), as UTC text."""
    when = holder.get("since")
    if not isinstance(when, (int, float)) or isinstance(when, bool):
        try:
            when = os.stat(path).st_mtime
        except OSError:
            return "an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _release(paths: set[Path]) -> None:
    for path in list(paths):
        _release_one(path)
    paths.clear()


def _release_one(path: Path) -> None:
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


@dataclass
class RunCache:
    """Verified run files under ``root``; ``notes`` collects what was found broken."""

    root: Path
    notes: list[str] = field(default_factory=list)
    #: seconds between looks at a lock another process holds
    poll_s: float = 0.2
    #: seconds to wait for it before giving up (None: ``$RANKIFY_LITE_LOCK_TIMEOUT``, 30 min)
    lock_timeout_s: float | None = None
    _held: set[Path] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if self.lock_timeout_s is None:  # a bad setting is refused before any work
            self.lock_timeout_s = lock_timeout()
        weakref.finalize(self, _release, self._held)  # a failed stage never blocks others

    def _lock_path(self, stem: str) -> Path:
        return self.root / f"{stem}.lock"

    def _acquire(self, stem: str, what: str) -> bool:
        """Take the entry's lock; True when another process held it and we waited for it."""
        path = self._lock_path(stem)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        waited = False
        timeout = float(self.lock_timeout_s or DEFAULT_LOCK_TIMEOUT_S)
        deadline = time.monotonic() + timeout
        while True:
            try:  # the lock appears complete or not at all: written aside, then linked in place
                tmp = self.root / f".{stem}.lock.{os.getpid()}"
                tmp.write_text(json.dumps({**me, "since": time.time()}), encoding="utf-8")
                try:
                    os.link(tmp, path)
                finally:
                    tmp.unlink(missing_ok=True)
            except FileExistsError:
                holder, inode = self._holder(path)
                if holder is None:
                    continue  # released just now
                pid, host = holder.get("pid"), holder.get("host")
                dead = host == me["host"] and isinstance(pid, int) and not _alive(pid)
                if pid == me["pid"] or dead or not isinstance(pid, int):
                    if dead:
                        self.notes.append(f"{what}: a lock left by process {pid} (no longer "
                                          "running) was broken")
                    with contextlib.suppress(OSError):
                        if os.stat(path).st_ino == inode:
                            path.unlink()
                    continue
                local = host == me["host"]  # alive (checked above): waited for while it runs
                held = (f"process {pid} on {host}, which holds the lock {path} since "
                        f"{_since(holder, path)}")
                if not waited:
                    bound = ("while it runs on this host" if local else
                             f"giving up after {timeout:g} s, {LOCK_TIMEOUT_ENV}")
                    self.notes.append(f"{what}: waited for {held} (computing the same entry)")
                    print(f"rankify-lite: {what}: waiting for {held}, computing the same entry; "
                          f"if that process is gone, delete {path} ({bound})", file=sys.stderr,
                          flush=True)
                elif not local and time.monotonic() >= deadline:
                    raise InputError(
                        f"{what}: gave up after {timeout:g} s waiting for {held}.",
                        fix=f"if that process is gone (another host, a job that died), delete "
                            f"{path}; or wait longer with {LOCK_TIMEOUT_ENV}=SECONDS.") from None
                waited = True
                time.sleep(self.poll_s)
                continue
            except OSError:
                return waited  # a read-only cache: nothing to lock, nothing to share
            self._held.add(path)
            return waited

    @staticmethod
    def _holder(path: Path) -> tuple[dict[str, Any] | None, int]:
        """(the lock's record, its inode); (None, 0) when it is gone; a garbled record reads
        as ``{}`` (broken like a stale one)."""
        inode = 0
        try:
            inode = os.stat(path).st_ino
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, 0
        except (OSError, ValueError):
            return {}, inode
        return (data if isinstance(data, dict) else {}), inode

    def release(self, stem: str) -> None:
        """Release the entry's lock (``store`` does; call it when a computation is abandoned)."""
        path = self._lock_path(stem)
        if path in self._held:
            self._held.discard(path)
            _release_one(path)

    def paths(self, stem: str) -> tuple[Path, Path]:
        return self.root / f"{stem}.trec", self.root / f"{stem}.json"

    def load(self, stem: str, name: str, what: str) -> Run | None:
        """The cached run, or None (nothing cached, or a broken entry, removed with a note).
        None also means this process now holds the entry's lock until :meth:`store`; when
        another live process holds it, this waits for it and serves its result."""
        run = self._load(stem, name, what)
        if run is not None:
            return run
        if self._acquire(stem, what):  # waited for another run: its result is there now
            run = self._load(stem, name, what)
            if run is not None:
                self.release(stem)
        return run

    def _load(self, stem: str, name: str, what: str) -> Run | None:
        run_path, meta_path = self.paths(stem)
        if not run_path.exists() and not meta_path.exists():
            return None
        problem = self._problem(run_path, meta_path)
        if problem is None:
            try:
                record = json.loads(meta_path.read_text(encoding="utf-8"))
                return read_own_run(run_path, name=name).replace(metadata=record["metadata"])
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

    def store(self, stem: str, run: Run, cost: dict[str, Any] | None = None) -> None:
        """Write the run, then its record; refuses an empty run (nothing worth caching).
        ``cost``: what computing it took (seconds), kept in the record so a cache hit still
        reports it (:meth:`cost`). Releases the entry's lock either way."""
        try:
            self._store(stem, run, cost)
        except OSError as exc:
            if exc.errno not in _READ_ONLY:
                raise
            self.notes.append(f"the cache {self.root} is read-only ({exc.strerror}); results "
                              "are not cached")
        finally:
            self.release(stem)

    def _store(self, stem: str, run: Run, cost: dict[str, Any] | None = None) -> None:
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
        if cost:
            record["cost"] = dict(cost)
        with atomic_write(meta_path) as fh:
            json.dump(record, fh, indent=1, default=str)

    def record(self, stem: str) -> dict[str, Any]:
        _, meta_path = self.paths(stem)
        return json.loads(meta_path.read_text(encoding="utf-8"))

    def cost(self, stem: str) -> dict[str, float]:
        """The recorded cost of a cached entry (numbers only; {} when none was recorded)."""
        try:
            cost = self.record(stem).get("cost")
        except (OSError, ValueError, AttributeError):
            return {}
        if not isinstance(cost, dict):
            return {}
        return {str(k): float(v) for k, v in cost.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and v >= 0}
