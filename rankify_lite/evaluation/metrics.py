"""Metric names and the evaluator (ranx's numba kernels, trec_eval conventions).

Conventions, chosen to agree with ``trec_eval -c`` (which published BEIR/DL numbers use):

* the order evaluated is the Run's order: score descending, ties by doc id descending;
* queries in the run but not in the qrels are ignored (and reported);
* queries in the qrels but not in the run score 0 and count in the mean (``complete=True``;
  pass ``complete=False`` for plain trec_eval without ``-c``);
* nDCG uses the graded relevance as gain (Jarvelin-Kekalainen, trec_eval's ``ndcg_cut``);
* binary metrics (recall, MAP, MRR, precision) count grades >= ``rel_level`` as relevant
  (trec_eval ``-l``; published TREC DL recall/MAP use ``rel_level=2``). A metric may carry its own
  level with a ranx-style suffix: ``recall@100-l2``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rankify_lite.errors import InputError
from rankify_lite.evaluation.measure_names import (  # noqa: F401 - the names' home; re-exported
    DEFAULT_METRICS,
    PIPELINE_METRICS,
    Metric,
    check_rel_level,
    cutoff,
    parse_metric,
)
from rankify_lite.types import Qrels, Run

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_GRADED = {"ndcg"}


@dataclass(frozen=True)
class Evaluation:
    """Mean and per-query scores of one run."""

    run_name: str
    metrics: tuple[str, ...]
    mean: dict[str, float]
    per_query: dict[str, dict[str, float]]      # metric -> qid -> score
    missing_queries: tuple[str, ...] = ()       # in qrels, absent from the run (scored 0 if complete)
    unjudged_queries: tuple[str, ...] = ()      # in the run, absent from the qrels (ignored)
    settings: dict = field(default_factory=dict)

    def __getitem__(self, metric: str) -> float:
        return self.mean[parse_metric(metric).name]

    def per_query_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.per_query).rename_axis("qid")

    def as_dict(self) -> dict:
        return {"run": self.run_name, "mean": self.mean, "settings": self.settings,
                "missing_queries": list(self.missing_queries),
                "unjudged_queries": list(self.unjudged_queries)}


def _typed_inputs(run: Run, qrels: Qrels, qids: Sequence[str]):
    """ranx's typed lists: per query an (n, 2) array [doc number, score], sorted descending.

    Doc ids become small integers local to each query (no hashing, so no collisions); run
    scores become n, n-1, ... so ranx evaluates exactly our order.
    """
    from numba.typed import List as TypedList

    q_arrays, r_arrays = [], []
    empty = np.zeros((0, 2), dtype=np.float64)
    for qid in qids:
        judged = sorted(qrels[qid].items(), key=lambda kv: kv[1], reverse=True)
        index = {d: float(i) for i, (d, _) in enumerate(judged)}
        qa = np.array([[index[d], r] for d, r in judged], dtype=np.float64) if judged else empty
        rl = run.lists.get(qid)
        if rl is None or not len(rl):
            ra = empty
        else:
            n = len(rl)
            ids = np.fromiter((index.get(d, -1.0 - i) for i, d in enumerate(rl.doc_ids)),
                              dtype=np.float64, count=n)
            ra = np.empty((n, 2), dtype=np.float64)
            ra[:, 0] = ids
            ra[:, 1] = np.arange(n, 0, -1, dtype=np.float64)
        q_arrays.append(qa)
        r_arrays.append(ra)
    return TypedList(q_arrays), TypedList(r_arrays)


def _ranx_kernel(metric: Metric):
    from rankify_lite.evaluation.ranx_kernels import metric_switch

    return metric_switch({"mrr": "mrr", "map": "map"}.get(metric.family, metric.family))


def evaluate(run: Run, qrels: Qrels, metrics: Iterable[str | Metric] = DEFAULT_METRICS,
             rel_level: int = 1, complete: bool = True) -> Evaluation:
    """Score ``run`` against ``qrels``. See the module docstring for the conventions."""
    if not isinstance(run, Run):
        raise InputError(f"evaluate() takes a rankify_lite Run, got {type(run).__name__}.",
                         fix="load one with read_run(path) or build it with Run.from_scores().")
    check_rel_level(rel_level)
    parsed = [parse_metric(m) for m in metrics]
    if not parsed:
        raise InputError("no metrics requested.", fix="pass e.g. metrics=['ndcg@10'].")
    judged = [q for q in qrels if q in run.lists]
    missing = tuple(q for q in qrels if q not in run.lists)
    unjudged = tuple(q for q in run.lists if q not in qrels)
    qids = list(qrels) if complete else judged
    if not qids:
        raise InputError(f"run {run.name!r} shares no query id with the qrels.",
                         fix="check that the run and qrels belong to the same topics.")
    q_tl, r_tl = _typed_inputs(run, qrels, qids)
    import warnings
    mean: dict[str, float] = {}
    per_query: dict[str, dict[str, float]] = {}
    for metric in parsed:
        level = metric.rel_level if metric.rel_level is not None else rel_level
        if metric.family in _GRADED:
            level = 1 if metric.rel_level is None else metric.rel_level
        with warnings.catch_warnings():  # numba's uint64 cast notice inside ranx
            warnings.simplefilter("ignore")
            scores = np.asarray(_ranx_kernel(metric)(q_tl, r_tl, metric.k, level),
                                dtype=np.float64)
        scores = np.nan_to_num(scores, nan=0.0)
        per_query[metric.name] = dict(zip(qids, scores.tolist(), strict=True))
        mean[metric.name] = float(scores.mean())
    return Evaluation(run.name, tuple(m.name for m in parsed), mean, per_query, missing, unjudged,
                      {"rel_level": rel_level, "complete": complete, "queries": len(qids)})
