"""Reranker relevance feedback for a dense first stage (ReFIT, Reddy et al. 2023; the relevance
feedback section of FIRST, Reddy et al. 2024).

For each query: retrieve with the dense first stage, let a reranker score the top ``k``, then move
the query vector a few gradient steps to lower KL(reranker's distribution || retriever's
distribution) over those ``k`` documents, and retrieve again with the moved vector:

    p_rr = softmax(s / teacher_temperature)        s: the reranker's scores of the top k
    p_q  = softmax(D q / temperature)               D: the top k's document embeddings
    KL(p_rr || p_q) has gradient  D^T (p_q - p_rr) / temperature  with respect to q

The gradient is exact and closed-form (numpy, no autograd); documents the reranker prefers pull
the query towards them, so the second retrieval finds more documents like them beyond the top k
(better recall) without reranking more. The reranker is any reranker (bi-encoder, cross-encoder,
an LLM); use ``teacher_temperature`` to put its scores on a softmax-able scale (cosines: ~0.05;
cross-encoder logits: ~1). Listwise rerankers whose scores are only an order can be used as they
are: rankify_lite rerankers give scores monotone in rank.

``RerankerFeedback(Dense(...), "bi-encoder", reranker_options={"model": ...}, k=20)`` records the
dense retriever as a nested spec and the reranker as its registry name and options, so ``rerun``
rebuilds it (a reranker *object* works in Python too, but its spec nests a reranker inside a
first stage, which a saved result's checks refuse).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.retrievers.base import Retriever
from rankify_lite.types import Corpus, Queries, Run


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max()
    e = np.exp(z)
    return e / e.sum()


def feedback_step(q: np.ndarray, docs: np.ndarray, teacher: np.ndarray, temperature: float,
                  teacher_temperature: float) -> tuple[np.ndarray, float]:
    """(gradient of KL(p_teacher || p_q) with respect to ``q``, the KL) for one query."""
    p_t = _softmax(teacher / teacher_temperature)
    p_q = _softmax(docs @ q / temperature)
    kl = float(np.sum(p_t * (np.log(p_t + 1e-12) - np.log(p_q + 1e-12))))
    return docs.T @ (p_q - p_t) / temperature, kl


class RerankerFeedback(Retriever):
    """A dense first stage whose query vectors are moved towards a reranker's judgement of their
    top ``k`` (``steps`` gradient steps of size ``lr`` on the KL), then retrieved again.

    ``stats`` after a retrieval: mean KL before/after, mean query movement (L2), and how many
    queries the reranker had fewer than two documents for (left unmoved).
    """

    name = "feedback"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("reranker", "k", "steps", "lr", "temperature",
                                      "teacher_temperature"),
                                component=("first_stage",),
                                reranker_options=("reranker_options",))

    def __init__(self, first_stage: Any, reranker: Any, *, k: int = 20, steps: int = 5,
                 lr: float = 0.02, temperature: float = 0.05,
                 teacher_temperature: float = 0.05,
                 reranker_options: dict[str, Any] | None = None) -> None:
        super().__init__()
        if isinstance(reranker, str):   # a registry name: the spec stays plain data
            from rankify_lite.rerankers import load_reranker

            reranker = load_reranker(reranker, **(reranker_options or {}))
        elif reranker_options:
            raise InputError("reranker_options go with a reranker name, not a reranker object.",
                             fix="pass reranker='bi-encoder', reranker_options={...}.")
        if not (hasattr(first_stage, "embed_corpus") and hasattr(first_stage, "search_vectors")):
            raise InputError(f"reranker feedback moves dense query vectors; "
                             f"{type(first_stage).__name__} has none.",
                             fix="pass a Dense retriever as first_stage.")
        if k < 2 or steps < 0 or lr < 0 or temperature <= 0 or teacher_temperature <= 0:
            raise InputError(f"bad feedback settings k={k}, steps={steps}, lr={lr}, temperature="
                             f"{temperature}, teacher_temperature={teacher_temperature}.",
                             fix="k >= 2, steps >= 0, lr >= 0, temperatures > 0.")
        self.dense, self.reranker = first_stage, reranker
        self.k, self.steps, self.lr = int(k), int(steps), float(lr)
        self.temperature, self.teacher_temperature = float(temperature), float(teacher_temperature)
        rr = getattr(reranker, "name", None) or type(reranker).__name__
        self.name = f"{first_stage.name}+feedback({rr})"
        self.stats: dict[str, Any] = {}
        self._rows: dict[str, int] = {}
        self.judged: Run | None = None

    def config(self) -> dict[str, Any]:
        return {"family": "reranker-feedback", "first_stage": self.dense.config(),
                "reranker": self.reranker.config(), "k": self.k, "steps": self.steps,
                "lr": self.lr, "temperature": self.temperature,
                "teacher_temperature": self.teacher_temperature}

    def _index(self, corpus: Corpus) -> None:
        self.dense.index(corpus)
        self._rows = {d: i for i, d in enumerate(corpus.keys())}

    def moved_queries(self, queries: Queries, corpus: Corpus) -> tuple[list[str], np.ndarray,
                                                                      np.ndarray, Run]:
        """(query ids, original vectors, moved vectors, the reranker's run over the top k)."""
        qids = list(queries.keys())
        first = self.dense.retrieve(queries, self.k)
        judged = self.reranker.rerank(queries, first, corpus, depth=self.k)
        emb = self.dense.embed_corpus(corpus)
        q0 = np.asarray(self.dense.encoder.encode_queries(
            [queries[q].text for q in qids]), np.float32)
        moved = q0.copy()
        kl_before, kl_after, skipped = [], [], 0
        for i, qid in enumerate(qids):
            top = judged[qid].top(self.k) if qid in judged else None
            if top is None or len(top) < 2:
                skipped += 1
                continue
            docs = np.asarray(emb[[self._rows[d] for d in top.doc_ids]], np.float64)
            teacher = np.asarray(top.scores, np.float64)
            q = moved[i].astype(np.float64)
            kl = None
            for _ in range(self.steps):
                grad, kl_now = feedback_step(q, docs, teacher, self.temperature,
                                             self.teacher_temperature)
                kl = kl_now if kl is None else kl
                q = q - self.lr * grad
            _, kl_end = feedback_step(q, docs, teacher, self.temperature,
                                      self.teacher_temperature)
            kl_before.append(kl if kl is not None else kl_end)
            kl_after.append(kl_end)
            moved[i] = q.astype(np.float32)
        self.judged = judged   # the reranker's run over the last queries' top k
        self.stats = {"kl_before": float(np.mean(kl_before)) if kl_before else None,
                      "kl_after": float(np.mean(kl_after)) if kl_after else None,
                      "query_shift_l2": float(np.linalg.norm(moved - q0, axis=1).mean()),
                      "queries_unmoved": skipped}
        return qids, q0, moved, judged

    def _retrieve(self, queries: Queries, k: int) -> dict[str, list[tuple[str, float]]]:
        if not len(queries):
            return {}
        qids, _, moved, _ = self.moved_queries(queries, self._corpus)
        return dict(zip(qids, self.dense.search_vectors(moved, k), strict=True))
