"""Append-only per-query checkpoints for long reranking runs (resumable after kill -9)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import IO

from rankify_lite.types import RankedList


def _digest(qid: str, doc_ids: list, scores: list) -> str:
    payload = json.dumps([qid, doc_ids, scores], separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class JsonlCheckpoint:
    """One JSON line per finished query, flushed and fsynced as it is written.

    Every line carries a checksum of its content, so a line that was cut or garbled is never
    taken for a result: reading stops at the first bad line and everything after it is redone
    (``notes`` says so). Scores are stored as JSON floats, which round-trip exactly. The batch
    driver (:func:`rankify_lite.rerankers.driver.drive`) redoes a whole query batch when any
    query of it is missing, so a resumed run computes every batch exactly as an uninterrupted
    run does (byte-identical).
    """

    def __init__(self, path: str | Path, total: int | None = None) -> None:
        self.path = Path(path)
        self.total = total  # queries in the stage, when known (for "N of M checkpointed")
        self._done: dict[str, RankedList] = {}
        self.notes: list[str] = []
        if self.path.is_dir():
            shutil.rmtree(self.path, ignore_errors=True)
            self.notes.append(f"checkpoint {self.path.name} was a folder; removed")
        self._fh: IO[str] | None = None
        try:
            if self.path.exists():
                self._load()
                self._rewrite()  # drop a torn tail so appends start on a clean line
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - see close()
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            self.notes.append(f"checkpoint {self.path.name}: the cache is read-only "
                              f"({exc.strerror}); this run is not checkpointed")

    def _load(self) -> None:
        for entry in self._read():
            if isinstance(entry, str):
                self.notes.append(entry)
                break
            qid, ranked = entry
            self._done[qid] = ranked

    def _read(self):  # (qid, RankedList) per good line, then a note if a bad line stops it
        with open(self.path, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                try:
                    obj = json.loads(raw.decode("utf-8"))
                    qid, ids, scores = obj["qid"], obj["doc_ids"], obj["scores"]
                    if obj["sha"] != _digest(qid, ids, scores):
                        raise ValueError("checksum mismatch")
                    yield qid, RankedList(tuple(ids), tuple(float(s) for s in scores))
                except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                    yield (f"checkpoint {self.path.name}: line {lineno} was cut or "
                           "garbled; that query and the ones after it are redone")
                    return

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".rewrite")
        with open(tmp, "w", encoding="utf-8") as fh:
            for qid, rl in self._done.items():
                fh.write(self._line(qid, rl))
        os.replace(tmp, self.path)

    @staticmethod
    def _line(qid: str, rl: RankedList) -> str:
        ids, scores = list(rl.doc_ids), list(rl.scores)
        return json.dumps({"qid": qid, "doc_ids": ids, "scores": scores,
                           "sha": _digest(qid, ids, scores)}) + "\n"

    def done(self) -> dict[str, RankedList]:
        return dict(self._done)

    def add(self, qid: str, ranked: RankedList) -> None:
        if self._fh is None:  # read-only cache: kept in memory only
            self._done[qid] = ranked
            return
        try:
            self._fh.write(self._line(qid, ranked))
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            from rankify_lite.io.files import with_filename

            raise with_filename(exc, self.path) from exc
        self._done[qid] = ranked

    def progress(self) -> tuple[int, int | None]:
        """(queries checkpointed, queries in the stage or None): what an interrupted command
        reports (the cached-stage runner attaches it to the interrupt). Counted from the
        file, which is what a resumed run keeps: an interrupt that lands between a line's
        fsync and the in-memory bookkeeping must not make the count one short."""
        if self._fh is None:
            return len(self._done), self.total
        try:
            self._fh.flush()
            kept = {e[0] for e in self._read() if not isinstance(e, str)}
        except OSError:
            return len(self._done), self.total
        return len(kept), self.total

    def close(self, remove: bool = False) -> None:
        if self._fh is not None:
            self._fh.close()
        if remove:
            self.path.unlink(missing_ok=True)
