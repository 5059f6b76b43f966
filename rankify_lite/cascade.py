"""Cascades: a system is a chain of reranking stages, each on the top ``depth`` of the one before.

Written as PyTerrier writes them: ``reranker % depth`` cuts the candidates a reranker sees, and
``>>`` chains stages::

    ce = load_reranker("cross-encoder")
    first = load_reranker("first")
    Pipeline("run:bm25.top100", [ce % 100, ce % 100 >> first % 20])

A reranker without ``% depth`` uses the pipeline's ``depth``. Stages shared by several systems
of one pipeline (here ``ce % 100``) are computed once: a stage's cache key is its input's key
plus its own config and depth, so equal prefixes have equal keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rankify_lite.errors import InputError

if TYPE_CHECKING:
    from rankify_lite.rerankers.base import Reranker


def _check_depth(depth: Any) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise InputError(f"a stage's depth must be a positive integer, got {depth!r}.",
                         fix="e.g. reranker % 100 (rerank the top 100 of the stage before).")
    return depth


@dataclass(frozen=True, eq=False)
class Stage:
    """One reranking stage: ``reranker`` on the top ``depth`` (None: the pipeline's depth)."""

    reranker: Reranker
    depth: int | None = None

    def __post_init__(self) -> None:
        if self.depth is not None:
            _check_depth(self.depth)

    def __mod__(self, depth: int) -> Stage:
        return Stage(self.reranker, _check_depth(depth))

    def __rshift__(self, other: Any) -> Chain:
        return Chain((self,)) >> other

    def at(self, default_depth: int) -> Stage:
        return self if self.depth is not None else Stage(self.reranker, default_depth)


@dataclass(frozen=True, eq=False)
class Chain:
    """Reranking stages applied in order: each reranks the output of the one before."""

    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        if not self.stages:
            raise InputError("a cascade needs at least one stage.", fix="e.g. ce % 100 >> first % 20")

    def __rshift__(self, other: Any) -> Chain:
        return Chain(self.stages + as_chain(other).stages)

    def at(self, default_depth: int) -> Chain:
        return Chain(tuple(s.at(default_depth) for s in self.stages))


def as_chain(value: Any) -> Chain:
    """A Reranker, a Stage or a Chain as a Chain (the one type check of a pipeline's systems)."""
    from rankify_lite.rerankers.base import Reranker

    if isinstance(value, Chain):
        return value
    if isinstance(value, Stage):
        return Chain((value,))
    if isinstance(value, Reranker):
        return Chain((Stage(value),))
    raise InputError(f"{type(value).__name__} is not a reranker, a stage or a cascade.",
                     fix="pass load_reranker(...) objects, reranker % depth, or a >> b chains.")
