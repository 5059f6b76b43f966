"""Cascades: a system is a chain of reranking stages, each on the top ``depth`` of the one before.

Written as PyTerrier writes them: ``reranker % depth`` cuts the candidates a reranker sees, and
``>>`` chains stages::

    ce = load_reranker("cross-encoder")
    first = load_reranker("first")
    Pipeline("run:bm25.top100", [ce % 100, ce % 100 >> first % 20])

A reranker without ``% depth`` uses the pipeline's ``depth``. Stages shared by several systems
of one pipeline (here ``ce % 100``) are computed once, and a stage's cache key is what it reads
(its input's queries, candidates and passages) plus its own config, tie rule and depth
(:mod:`rankify_lite.pipeline.keys`), so equal prefixes have equal keys.

A :class:`Stage` owns what belongs to a step of a pipeline rather than to a model: its depth,
its tie rule and its name (``Stage(ce, 100, ties="first-stage", name="ce-top100")``). The batch
driver reads the tie rule and the name from the stage. A reranker's own ``ties`` (set with
``load_reranker(..., ties=...)`` or :func:`~rankify_lite.ties.with_ties`) and
``given_name`` (``.named()``) are the defaults a stage takes. :class:`Cascadable` gives a
reranker the ``%`` and ``>>`` operators; this module imports nothing of the rerankers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from rankify_lite.errors import InputError
from rankify_lite.ties import DEFAULT, check_rule, with_ties

if TYPE_CHECKING:
    from rankify_lite.rerankers.driver import Scorer


def _check_depth(depth: Any) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise InputError(f"a stage's depth must be a positive integer, got {depth!r}.",
                         fix="e.g. reranker % 100 (rerank the top 100 of the stage before).")
    return depth


class Cascadable:
    """The cascade operators of a reranker (a mixin): ``r % depth`` is a :class:`Stage`,
    ``r >> other`` a :class:`Chain`."""

    def __mod__(self, depth: int) -> Stage:
        return Stage(self, _check_depth(depth))  # type: ignore[arg-type]

    def __rshift__(self, other: Any) -> Chain:
        return Chain((Stage(self),)) >> other  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class Stage:
    """One reranking stage: ``reranker`` on the top ``depth`` (None: the pipeline's depth),
    tied scores ordered by ``ties`` and named ``name`` (None: the reranker's defaults).

    The stage's rule and name are also set on the reranker it holds (a shallow copy where they
    differ: the model is shared), so its config, spec and cache key record what the driver
    applies, and ``rerun`` rebuilds the same stage from a saved spec."""

    reranker: Scorer
    depth: int | None = None
    ties: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.depth is not None:
            _check_depth(self.depth)
        reranker = self.reranker
        if self.ties is not None:
            reranker = with_ties(reranker, check_rule(self.ties))
        if self.name is not None and self.name != getattr(reranker, "given_name", None):
            reranker = reranker.named(self.name)  # type: ignore[attr-defined]
        object.__setattr__(self, "reranker", reranker)
        object.__setattr__(self, "ties", getattr(reranker, "ties", DEFAULT))
        object.__setattr__(self, "name", getattr(reranker, "given_name", None))

    @property
    def label(self) -> str:
        """The stage's name, else the reranker's (its family)."""
        return self.name or self.reranker.name

    def __mod__(self, depth: int) -> Stage:
        return replace(self, depth=_check_depth(depth))

    def __rshift__(self, other: Any) -> Chain:
        return Chain((self,)) >> other

    def at(self, default_depth: int) -> Stage:
        return self if self.depth is not None else replace(self, depth=default_depth)


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


def as_stage(value: Any) -> Stage:
    """A Stage, or a reranker as a Stage with its own defaults."""
    return value if isinstance(value, Stage) else Stage(value)


def as_chain(value: Any) -> Chain:
    """A Reranker, a Stage or a Chain as a Chain (the one type check of a pipeline's systems)."""
    if isinstance(value, Chain):
        return value
    if isinstance(value, Stage):
        return Chain((value,))
    if isinstance(value, Cascadable):
        return Chain((Stage(value),))  # type: ignore[arg-type]
    raise InputError(f"{type(value).__name__} is not a reranker, a stage or a cascade.",
                     fix="pass load_reranker(...) objects, reranker % depth, or a >> b chains.")
