"""A deterministic, deliberately slow reranker used by the kill -9 / resume tests.

The kill tests are driven by an event, not by timing: with ``hold_after=N`` each copy of the
reranker (one per process: the test's, or each Ray worker's) scores N queries and then waits
(up to ``hold_s`` seconds, far longer than the test needs to kill it), so the checkpoint stops
at an exact number of lines on any machine and the test kills the run when it gets there."""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from rankify_lite.rerankers.base import Reranker, RerankItem, Scored


class HashReranker(Reranker):
    """Scores = a hash of (query, doc): a fixed, arbitrary reordering; optional delay per query."""

    family = "hash-test"
    query_batch_size = 1

    def __init__(self, delay: float = 0.0, fail_on: str | None = None,
                 hold_after: int | None = None, hold_s: float = 600.0) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.hold_after = hold_after
        self.hold_s = hold_s
        self.scored = 0  # queries this copy scored (the counter hold_after reads)

    def config(self) -> dict:
        return {"family": self.family}

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        out = []
        for it in items:
            if it.query.id == self.fail_on:
                raise RuntimeError("model exploded")
            if self.hold_after is not None and self.scored >= self.hold_after:
                time.sleep(self.hold_s)  # held until the test kills the process
            self.scored += 1
            time.sleep(self.delay)
            out.append([(d.id, int(hashlib.sha256(f"{it.query.id}/{d.id}".encode()).hexdigest()[:8],
                                   16) / 2**32) for d in it.documents])
        return out


def wait_for_checkpoint(cache: Path, n: int, proc: subprocess.Popen | None = None,
                        limit_s: float = 300) -> int:
    """Block until a run's checkpoint (``*.partial.jsonl`` under ``cache``) holds ``n`` lines:
    the event a kill test waits for. ``limit_s`` only guards against a hang; reaching it, or
    ``proc`` ending first, fails the test."""
    deadline, lines = time.time() + limit_s, 0
    while lines < n:
        assert time.time() < deadline and (proc is None or proc.poll() is None), \
            f"the run stopped or hung with {lines} of {n} checkpointed queries"
        partial = list(Path(cache).rglob("*.partial.jsonl"))
        lines = partial[0].read_text().count("\n") if partial else 0
        time.sleep(0.02)
    return lines
