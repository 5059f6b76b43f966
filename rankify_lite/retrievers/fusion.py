"""Fusion of several first stages (RRF, CombSUM/MNZ on normalised scores, ...) via ranx.

``fuse(runs)`` combines finished runs; ``Fusion([BM25(), Dense()])`` is a retriever that runs
its members and fuses them. Rank-based methods (RRF, ISR, RBC, Borda, Condorcet) see each run's
own order, ties included as our Run resolved them; score-based methods (sum, max, mnz, ...)
see the real scores, normalised per query (``norm``, min-max by default).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from rankify_lite.errors import InputError, require
from rankify_lite.file_policy import FileOptions
from rankify_lite.retrievers.base import Retriever
from rankify_lite.types import Corpus, Queries, Run

RANK_METHODS = ("rrf", "isr", "log_isr", "logn_isr", "rbc", "bordafuse", "condorcet")
SCORE_METHODS = ("sum", "max", "min", "med", "anz", "mnz", "gmnz", "wsum", "wmnz")
WEIGHTED = {"sum": "wsum", "mnz": "wmnz", "bordafuse": "w_bordafuse",
            "condorcet": "w_condorcet", "wsum": "wsum", "wmnz": "wmnz"}
NORMS = ("min-max", "max", "sum", "zmuv", "rank", "borda")


def _check(method: str, norm: str | None, weights: Sequence[float] | None, n: int) -> None:
    if method not in RANK_METHODS + SCORE_METHODS:
        raise InputError(f"unknown fusion method {method!r}",
                         fix=f"use one of {', '.join(RANK_METHODS + SCORE_METHODS)}")
    if norm is not None and norm not in NORMS:
        raise InputError(f"unknown score normalisation {norm!r}", fix=f"use one of {NORMS}")
    if weights is not None:
        if method not in WEIGHTED:
            raise InputError(f"fusion method {method!r} takes no weights",
                             fix=f"use weights with one of {', '.join(WEIGHTED)}")
        if len(weights) != n:
            raise InputError(f"{len(weights)} weights for {n} runs", fix="one weight per run")
    elif method in ("wsum", "wmnz"):
        raise InputError(f"fusion method {method!r} needs weights", fix="pass weights=[...]")


@contextlib.contextmanager
def _quiet_numba_casts() -> Iterator[None]:
    """Hide numba's "unsafe cast from uint64 to int64" notice, raised while ranx's fusion
    kernels compile (a detail of ranx, nothing the user can act on); every other warning shows."""
    from numba.core.errors import NumbaTypeSafetyWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=NumbaTypeSafetyWarning)
        yield


def fuse(runs: Sequence[Run], method: str = "rrf", norm: str | None = "min-max",
         weights: Sequence[float] | None = None, k: int = 60, name: str | None = None) -> Run:
    """Fuse ``runs`` per query with ranx's ``fuse``.

    ``method``: "rrf" (constant ``k``), "isr", "rbc", "bordafuse", "condorcet" (rank based) or
    "sum", "max", "min", "med", "anz", "mnz", "gmnz" (score based; ``norm`` applies, e.g.
    "min-max", "zmuv", "sum", "max", "rank"). ``weights`` (one per run) turn sum / mnz /
    bordafuse / condorcet into their weighted forms. A query that only one run answers keeps
    that run's order. Returns a new Run; inputs are not changed.
    """
    runs = list(runs)
    if len(runs) < 2:
        raise InputError(f"fuse() needs at least two runs, got {len(runs)}",
                         fix="pass a list of two or more Runs.")
    _check(method, norm, weights, len(runs))
    ranx = require("ranx", extra="core", feature="Run fusion")
    rank_based = method in RANK_METHODS
    ranx_method = WEIGHTED[method] if weights is not None else method
    params: dict[str, Any] = {}
    if method == "rrf":
        params["k"] = k
    if weights is not None:
        params["weights"] = [float(w) for w in weights]
    elif method == "rbc":
        params["phi"] = 0.8

    qids = list(dict.fromkeys(q for r in runs for q in r))
    answered = {q: tuple(i for i, r in enumerate(runs) if q in r and len(r[q])) for q in qids}
    groups: dict[tuple[int, ...], list[str]] = {}
    for q, members in answered.items():
        groups.setdefault(members, []).append(q)

    fused: dict[str, dict[str, float]] = {}
    for members, group in groups.items():
        if len(members) == 0:
            fused.update({q: {} for q in group})
        elif len(members) == 1:  # nothing to fuse: keep that run's order
            rl = runs[members[0]]
            fused.update({q: {d: float(len(rl[q]) - i) for i, d in enumerate(rl[q].doc_ids)}
                          for q in group})
        else:
            subset = [runs[i].restrict(group) for i in members]
            if rank_based:
                ranx_runs = [r.to_ranx() for r in subset]
            else:
                ranx_runs = [ranx.Run(r.to_dict()) for r in subset]
            p = dict(params)
            if "weights" in p and len(members) != len(runs):
                p["weights"] = [p["weights"][i] for i in members]
            with _quiet_numba_casts():
                out = ranx.fuse(ranx_runs, norm=None if rank_based else norm,
                                method=ranx_method, params=p)
            fused.update({q: {d: float(s) for d, s in docs.items()}
                          for q, docs in out.to_dict().items()})
    label = name or f"{method}({', '.join(r.name for r in runs)})"
    meta = {"fusion": {"method": method, "norm": None if rank_based else norm, "k": k,
                       "weights": list(weights) if weights is not None else None,
                       "runs": [{"name": r.name, "metadata": dict(r.metadata)} for r in runs]}}
    return Run.from_scores(fused, name=label, metadata=meta)


class Fusion(Retriever):
    """``Fusion([BM25(), Dense()], method="rrf", k=60)``: index and query every member, fuse
    their top-``depth`` lists. Other arguments as in :func:`fuse`."""

    name = "fusion"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("method", "k", "norm", "weights", "depth"),
                                component=("retrievers",))

    def __init__(self, retrievers: Sequence[Retriever], method: str = "rrf", k: int = 60,
                 norm: str | None = "min-max", weights: Sequence[float] | None = None,
                 depth: int = 1000) -> None:
        super().__init__()
        self.retrievers = list(retrievers)
        if len(self.retrievers) < 2:
            raise InputError(f"Fusion needs at least two retrievers, got {len(self.retrievers)}",
                             fix="pass a list such as [BM25(), Dense()].")
        _check(method, norm, weights, len(self.retrievers))
        self.method, self.k, self.norm, self.depth = method, k, norm, depth
        self.weights = list(weights) if weights is not None else None
        self.name = f"{method}({'+'.join(r.name for r in self.retrievers)})"

    def config(self) -> dict[str, Any]:
        return {"family": "fusion", "retrievers": [r.config() for r in self.retrievers],
                "method": self.method, "k": self.k, "norm": self.norm,
                "weights": self.weights, "depth": self.depth}

    def _index(self, corpus: Corpus) -> None:
        for r in self.retrievers:
            r.index(corpus)

    def _retrieve(self, queries: Queries, k: int) -> dict[str, list[tuple[str, float]]]:
        depth = max(k, self.depth)
        runs = [r.retrieve(queries, k=depth) for r in self.retrievers]
        fused = fuse(runs, method=self.method, norm=self.norm, weights=self.weights, k=self.k)
        return {q: list(zip(rl.doc_ids[:k], rl.scores[:k], strict=True))
                for q, rl in fused.lists.items()}
