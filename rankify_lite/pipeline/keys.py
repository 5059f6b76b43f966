"""The cache keys of pipeline stages: one place, one version.

A key names exactly what computed its entry, and nothing about who asked for it: the Pipeline,
the leaderboard (through the Pipeline) and the PyTerrier transformers all key through here and
share one entry per computation (:mod:`rankify_lite.pipeline.run_cached` runs every stage).

* A **first stage** is keyed by the content hashes of the corpus and the queries it reads
  (:meth:`~rankify_lite.types.Corpus.content_hash`, cached on the objects: a Dataset's own
  hashes are reused, nothing is copied), the component's ``config()``, ``k`` and the self-hit
  rule (:func:`first_stage_key`).
* A **reranking stage** is keyed by what its reranker reads (:func:`candidates_key`): per query,
  in the candidates' order (that order cuts the query batches), the query text, the top
  ``depth`` candidates as the driver hands them over (doc ids in order, their scores, and each
  document's title and passage text) and the doc ids below ``depth`` (kept in order under the
  reranked head). One sha256 per query, then one over those; the texts are read from the corpus
  given, so a Dataset's corpus and a PyTerrier frame's ``text`` column give the same key when
  the passages are the same. Then the stage's own settings (:func:`stage_parts`): the
  reranker's ``config()``, the tie rule the driver applies (read from the
  :class:`~rankify_lite.cascade.Stage`, where the driver reads it), the depth and the queries
  per call (a batch's composition can change a listwise model's output).

:data:`KEY_VERSION` enters every key. When a fix changes what a key's computation produces
(a wrapper that dropped an option, a changed tie order), or what a key is made of, bump it:
entries written before are then never found, so a wrong result cannot outlive its bug.
"""

from __future__ import annotations

import hashlib
from typing import Any

from rankify_lite.cache import content_key
from rankify_lite.cascade import Stage, as_stage
from rankify_lite.types import Corpus, Queries, Run

#: 2: LazyReranker computed with the default tie rule under the key of the one asked for (#38)
#: 3: a reranking stage is keyed by the content it reads (queries, candidates, passage texts),
#:    not by the key of the stage before it, so the Pipeline and PyTerrier share entries (#33)
KEY_VERSION = 3


def stage_key(kind: str, *parts: Any) -> str:
    """The cache key of a stage of ``kind`` ("first", "rerank") over ``parts``."""
    return content_key(KEY_VERSION, kind, *parts)


def first_stage_key(corpus: Corpus | None, queries: Queries, config: dict[str, Any], k: int,
                    self_hits: bool) -> str:
    """The key of a first stage with ``config`` retrieving the top ``k`` of ``corpus`` for
    ``queries``; ``self_hits``: BEIR's rule (a query never retrieves its own id) applies."""
    return stage_key("first", corpus.content_hash() if corpus is not None else None,
                     queries.content_hash(), config, k, bool(self_hits))


def _none(h: Any) -> None:
    h.update(b"\x00")


def candidates_key(queries: Queries, candidates: Run, corpus: Corpus, depth: int) -> str:
    """A hash of everything a reranking stage at ``depth`` reads from its input (see the
    module docstring). A query or document the input lacks hashes as absent: the driver
    refuses it before anything is stored."""
    out = hashlib.sha256()
    for qid, rl in candidates.items():
        h = hashlib.sha256()
        query = queries.get(qid)
        for part in (qid, query.text if query is not None else None):
            if part is None:
                _none(h)
            else:
                h.update(part.encode("utf-8"))
            h.update(b"\x1f")
        head, scores = rl.doc_ids[:depth], rl.scores[:depth]
        for d, s in zip(head, scores, strict=True):
            doc = corpus.get(d)
            h.update(f"{d}\x1f{s!r}\x1f".encode())
            if doc is None:
                _none(h)
            else:
                h.update(doc.title.encode("utf-8"))
                h.update(b"\x1f")
                h.update(doc.text.encode("utf-8"))
            h.update(b"\x1e")
        h.update(b"\x1d")
        for d in rl.doc_ids[depth:]:
            h.update(d.encode("utf-8"))
            h.update(b"\x1f")
        out.update(h.hexdigest().encode())
    return out.hexdigest()


def stage_parts(stage: Stage) -> tuple[Any, ...]:
    """What a reranking stage's output depends on besides its input: the reranker's config,
    the stage's tie rule (the one the driver applies), its depth and the queries per call."""
    if stage.depth is None:
        from rankify_lite.errors import InputError

        raise InputError("a stage without a depth has no cache key.",
                         fix="give the stage its depth: reranker % 100.")
    reranker = stage.reranker
    return (reranker.config(), {"ties": stage.ties}, stage.depth,
            reranker.queries_per_call(stage.depth))


def reranker_parts(reranker: Any, depth: int) -> tuple[Any, ...]:
    """:func:`stage_parts` of ``reranker`` at ``depth`` with the reranker's own defaults."""
    return stage_parts(Stage(reranker, depth))


def rerank_key(input_key: str, stage: Any, depth: int | None = None) -> str:
    """The key of ``stage`` (a Stage, or a reranker at ``depth``) over the input keyed
    ``input_key`` (:func:`candidates_key`, or any key naming the input exactly)."""
    stage = as_stage(stage)
    if depth is not None and stage.depth != depth:
        stage = stage % depth
    return stage_key("rerank", input_key, *stage_parts(stage))
