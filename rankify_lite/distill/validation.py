"""Validation on held-out training queries: the student reranks each validation query's teacher
pool and nDCG@10 is measured against qrels of those (training-side) queries. The trainer calls
this every ``eval_steps`` steps (and once before the first step); its value picks the kept
checkpoint when ``validation_metric="ndcg@10"``. Never built from the test set: the caller
passes the qrels of the queries it trains on, and only the held-out ones are read.
"""

from __future__ import annotations

from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, Qrels, Queries, Run

METRIC = "ndcg@10"


def pools(run: Run, queries: Queries, corpus: Corpus,
          depth: int) -> list[tuple[str, str, list[str], list[str]]]:
    """(qid, query text, doc ids, doc texts) of each query's top ``depth``."""
    out = []
    for qid in run:
        ids = list(run[qid].top(depth).doc_ids)
        out.append((qid, queries[qid].text, ids, [corpus[d].full_text() for d in ids]))
    return out


def candidates(val_run: Run, other: Run | None, corpus: Corpus) -> Run:
    """The run whose top documents the validation queries are reranked over: ``other``
    restricted to the validation queries (it must cover them all, with documents of the
    corpus), or the teacher's own ``val_run``."""
    if other is None:
        return val_run
    missing = [q for q in val_run if q not in other or not len(other[q])]
    if missing:
        raise InputError(f"the validation candidates {other.name!r} have no documents for "
                         f"{len(missing)} validation queries, e.g. {missing[:3]}.",
                         fix="pass a run over all the training queries (e.g. the dataset's "
                             "BM25 run), or leave validation_candidates unset.")
    picked = other.restrict(list(val_run))
    for qid in picked:
        absent = [d for d in picked[qid].doc_ids if d not in corpus]
        if absent:
            raise InputError(f"{len(absent)} validation candidates of query {qid!r} in "
                             f"{other.name!r} are not in the corpus, e.g. {absent[:3]}.",
                             fix="use a run retrieved from the training corpus.")
    return picked


def pool_ndcg(model: Any, kind: str, val_pools: list, qrels: Qrels, rel_level: int = 1) -> float:
    """nDCG@10 of the student reranking the validation pools."""
    from rankify_lite.distill.students import score
    from rankify_lite.evaluation import evaluate

    scores = {qid: dict(zip(ids, score(model, kind, q, texts), strict=True))
              for qid, q, ids, texts in val_pools}
    run = Run.from_scores(scores, name="validation")
    judged = qrels.restrict(scores)
    return float(evaluate(run, judged, [METRIC], rel_level=rel_level).mean[METRIC])


def evaluator(kind: str, val_pools: list, qrels: Qrels, rel_level: int = 1) -> Any:
    """A sentence-transformers evaluator reporting ``ndcg@10`` (the trainer logs it as
    ``eval_ndcg@10``)."""
    from sentence_transformers.base.evaluation import BaseEvaluator

    class PoolEvaluator(BaseEvaluator):
        def __init__(self) -> None:
            super().__init__()
            self.primary_metric = METRIC
            self.greater_is_better = True

        def __call__(self, model: Any, output_path: str | None = None, epoch: int = -1,
                     steps: int = -1) -> dict[str, float]:
            was_training = model.training
            model.eval()
            try:
                return {METRIC: pool_ndcg(model, kind, val_pools, qrels, rel_level)}
            finally:
                model.train(was_training)

    return PoolEvaluator()


def curve(log_history: list[dict[str, Any]]) -> list[dict[str, float]]:
    """The validation rows of the trainer's log: step, validation loss and/or nDCG@10."""
    rows = []
    for h in log_history:
        if "eval_loss" in h or f"eval_{METRIC}" in h:
            row: dict[str, float] = {"step": int(h.get("step", 0))}
            if "eval_loss" in h:
                row["loss"] = float(h["eval_loss"])
            if f"eval_{METRIC}" in h:
                row[METRIC] = float(h[f"eval_{METRIC}"])
            rows.append(row)
    return rows


def step0_value(log_history: list[dict[str, Any]], metric: str) -> float | None:
    """The validation value before training (the trainer's evaluation at step 0)."""
    key = "eval_loss" if metric == "loss" else f"eval_{metric}"
    for h in log_history:
        if int(h.get("step", -1)) == 0 and key in h:
            return float(h[key])
    return None


def untrained_is_best(log_history: list[dict[str, Any]], best_trained: float | None,
                      metric: str) -> bool:
    """True when no checkpoint validated strictly better than the untrained student (step 0):
    then the untrained student is the one to keep. False when step 0 was not evaluated."""
    before = step0_value(log_history, metric)
    if before is None:
        return False
    if best_trained is None:
        return True
    return best_trained >= before if metric == "loss" else best_trained <= before
