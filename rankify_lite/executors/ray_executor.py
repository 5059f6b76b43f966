"""``RayExecutor``: reranking and dense/SPLADE corpus encoding sharded across Ray actors.

Reranking: the batch driver (rankify_lite/rerankers/driver.py) cuts the query batches, exactly
as in one process, and this executor's ``map_batches`` sends each batch to a worker, which builds
the reranker once (from its saved spec, see spec.py) and runs the same ``compute`` a local run
runs: the family's ``_rerank_batch`` plus its counters' change. Everything else (ranked lists,
checkpoint, timing, statistics, metadata) happens in the driver, so a Ray run's file and metadata
equal the local run's but for measured seconds. A killed driver resumes from the checkpoint, and
a batch whose worker died is redone on the restarted (or a fresh) worker.

Encoding: the encoder's own tokenisation chunks are the units (encode_plan.py); the driver writes
the vectors into the retriever's cache file, which ``index`` then reads. BM25 and the other first
stages run in the driver as before.

Workers are long-lived actors holding one model at a time: a new reranker or encoder replaces
the previous one (GPU memory is freed first), so a pipeline with several stages starts its
worker processes once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rankify_lite.errors import InputError, RankifyError, require
from rankify_lite.executors import encode_plan
from rankify_lite.executors.spec import recipe
from rankify_lite.rerankers.base import Reranker
from rankify_lite.rerankers.driver import Batch, BatchOutput
from rankify_lite.types import Corpus


class _Worker:
    """One Ray actor. ``model`` = (key, how to build it); built on first use, kept until a call
    names another key. The payload arrives wrapped in a list so that a pickled copy (an
    ObjectRef) is fetched only when the model is built, not on every call."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.model: Any = None

    def _use(self, key: str, build: Callable[[], Any]) -> Any:
        if self.key != key:
            self.key, self.model = None, None
            import gc
            import sys

            gc.collect()
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()
            self.model, self.key = build(), key
        return self.model

    def compute(self, key: str, spec: list, batch: Batch) -> BatchOutput | dict[str, Any]:
        from rankify_lite.executors.spec import rebuild
        from rankify_lite.rerankers.driver import RerankBatchError, compute

        kind, payload, config, per_call, depth = spec
        try:
            reranker = self._use(key, lambda: rebuild(kind, _resolve(payload), config, per_call,
                                                      depth))
            return compute(reranker, batch)
        except RerankBatchError as exc:  # sent back as plain data: exceptions may not unpickle
            return {"batch": batch.index, "cause": exc.cause}
        except RankifyError as exc:
            return {"message": str(exc)}

    def encode(self, key: str, spec: list, texts: list[str]) -> tuple[Any, int] | dict[str, str]:
        kind, payload, config = spec
        try:
            encoder = self._use(key, lambda: encode_plan.build_encoder(kind, _resolve(payload),
                                                                       config))
        except RankifyError as exc:
            return {"message": str(exc)}
        out = encoder.encode_documents(texts)
        return out, int(encoder.last_truncated)


def _resolve(payload: Any) -> Any:
    import ray

    return ray.get(payload) if isinstance(payload, ray.ObjectRef) else payload


class RayExecutor:
    """Shard reranking and corpus encoding over Ray actors.

    ``address``: None starts a local Ray (or uses the one already initialised); ``"auto"`` or
    ``"HOST:6379"`` joins a cluster started with ``ray start --head``. ``num_workers``: actors
    (default: as many as the cluster's CPUs, or GPUs when ``num_gpus`` > 0, allow).
    ``num_cpus`` / ``num_gpus``: resources of each actor (a vLLM reranker with tensor
    parallelism 4 wants ``num_gpus=4``). ``max_retries``: how often a unit whose worker died is
    redone. ``encode``: shard dense/SPLADE corpus encoding too (default True).
    ``actor_options``: more Ray actor options, e.g. ``{"scheduling_strategy": "SPREAD"}`` (one
    worker per node, so a lost node's worker restarts on a survivor that has room). ``close()``
    ends the workers (they also end with the driver).
    """

    def __init__(self, address: str | None = None, *, num_workers: int | None = None,
                 num_cpus: float = 1, num_gpus: float = 0, max_retries: int = 3,
                 encode: bool = True, init_options: dict[str, Any] | None = None,
                 actor_options: dict[str, Any] | None = None) -> None:
        if num_workers is not None and num_workers < 1:
            raise InputError(f"num_workers must be >= 1, got {num_workers}.", fix="e.g. 2.")
        if max_retries < 0:
            raise InputError(f"max_retries must be >= 0, got {max_retries}.", fix="e.g. 3.")
        self.address = address
        self.num_workers = num_workers
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.max_retries = max_retries
        self.encode = encode
        self.init_options = dict(init_options or {})
        self.actor_options = dict(actor_options or {})
        self.stats: dict[str, Any] = {}
        self._actors: list[Any] = []
        self._keys = 0

    # -- ray --------------------------------------------------------------------------------
    def start(self) -> RayExecutor:
        """Connect to (or start) Ray now. The pipeline calls this before its first stage:
        Ray's core worker replaces the process's SIGSEGV handler, which a JVM started before it
        (Lucene BM25 in this process) needs, so Ray must come first."""
        self._ray()
        return self

    def _ray(self):
        ray = require("ray", extra="ray", feature="the Ray executor")
        if not ray.is_initialized():
            import sys
            import warnings

            if "jnius" in sys.modules:
                warnings.warn(
                    "a JVM (Lucene BM25) already runs in this process and Ray is starting now: "
                    "Ray replaces the SIGSEGV handler the JVM relies on, so the JVM may crash "
                    "later. Start Ray first (RayExecutor(...).start(), as Pipeline.run does), "
                    "or run BM25 in another process.", stacklevel=3)
            opts = {"include_dashboard": False, "log_to_driver": False, **self.init_options}
            ray.init(address=self.address, **opts)
        return ray

    def workers(self) -> int:
        """How many actors the executor runs."""
        if self.num_workers is not None:
            return self.num_workers
        res = self._ray().cluster_resources()
        if self.num_gpus:
            return max(1, int(res.get("GPU", 0) // self.num_gpus))
        return max(1, int(res.get("CPU", 1) // max(self.num_cpus, 1e-9)))

    def describe(self) -> dict[str, Any]:
        return {"executor": "ray", "workers": self.workers(), "num_cpus": self.num_cpus,
                "num_gpus": self.num_gpus}

    def _new_actor(self) -> Any:
        remote = self._ray().remote(_Worker).options(
            num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_restarts=self.max_retries,
            max_task_retries=self.max_retries, **self.actor_options)
        return remote.remote()

    def close(self) -> None:
        """End the worker actors."""
        if self._actors:
            ray = self._ray()
            for actor in self._actors:
                ray.kill(actor, no_restart=True)
        self._actors = []

    def _key(self, kind: str, payload: Any, config: Any) -> str:
        """Workers keep a model between calls with the same key: a rebuildable spec is keyed
        by its content (a second stage with the same model reuses it), a pickled copy by call."""
        if kind == "pickle":
            self._keys += 1
            return f"pickle-{id(self)}-{self._keys}"
        import json

        return json.dumps([kind, payload, config], sort_keys=True, default=str)

    def _run_pool(self, tasks: list[Any], call: Callable[[Any, Any], Any],
                  on_result: Callable[[Any, Any], None]) -> None:
        """``on_result(task, value)`` for every result of :meth:`_pool`, in the driver."""
        for task, value in self._pool(tasks, call):
            on_result(task, value)

    def _pool(self, tasks: list[Any], call: Callable[[Any, Any], Any]) -> Iterator[tuple[Any, Any]]:
        """Run ``call(actor, task)`` for every task (two calls in flight per actor); yields
        ``(task, value)`` as results arrive. A call whose actor died is redone (on the restarted
        actor, or on a fresh one) up to ``max_retries`` times."""
        ray = self._ray()
        from ray.exceptions import RayActorError

        while len(self._actors) < self.workers():
            self._actors.append(self._new_actor())
        actors = self._actors
        pending = deque(range(len(tasks)))
        inflight: dict[Any, tuple[int, int]] = {}  # ref -> (task index, actor slot)
        load = [0] * len(actors)
        failures = [0] * len(tasks)
        while pending or inflight:
            for slot in range(len(actors)):
                while pending and load[slot] < 2:
                    i = pending.popleft()
                    inflight[call(actors[slot], tasks[i])] = (i, slot)
                    load[slot] += 1
            ready, _ = ray.wait(list(inflight), num_returns=1)
            i, slot = inflight.pop(ready[0])
            load[slot] -= 1
            try:
                value = ray.get(ready[0])
            except RayActorError:
                failures[i] += 1
                if failures[i] > self.max_retries:
                    raise RankifyError(f"a Ray worker died {failures[i]} times on the same unit "
                                       "of work; giving up. Finished queries are kept in the "
                                       "checkpoint.") from None
                pending.appendleft(i)
                self.stats["redone"] = self.stats.get("redone", 0) + 1
                if not self._alive(actors[slot]):
                    ray.kill(actors[slot], no_restart=True)
                    actors[slot] = self._new_actor()
                continue
            if isinstance(value, dict):
                _raise_remote(value, tasks[i])
            yield tasks[i], value

    def _alive(self, actor: Any) -> bool:
        ray = self._ray()
        try:
            ray.get(actor.__ray_ready__.remote(), timeout=60)
            return True
        except Exception:
            return False

    # -- reranking --------------------------------------------------------------------------
    def map_batches(self, reranker: Reranker, batches: Sequence[Batch], depth: int
                    ) -> Iterator[tuple[Batch, BatchOutput]]:
        """Compute ``batches`` on the workers (two in flight per worker), yielding each as it
        returns; the driver (``drive``) does everything else, exactly as for a local run."""
        if not batches:
            return
        ray = self._ray()
        kind, payload = recipe(reranker)
        config = reranker.config()
        per_call = reranker.queries_per_call(depth)
        key = self._key(kind, payload, [config, per_call, depth])
        if kind == "pickle":
            payload = ray.put(payload)  # shipped once, fetched by each worker once
        spec = [kind, payload, config, per_call, depth]  # the worker checks what it rebuilt

        def call(actor, batch):
            return actor.compute.remote(key, spec, batch)

        yield from self._pool(list(batches), call)

    def rerank(self, reranker: Reranker, queries: Any, candidates: Any, corpus: Corpus,
               depth: int, checkpoint: Any = None, progress: Any = None) -> Any:
        """Same result as ``reranker.rerank(...)`` (the same driver), batches on the workers."""
        from rankify_lite.executors.base import rerank

        return rerank(self, reranker, queries, candidates, corpus, depth, checkpoint, progress)

    # -- corpus encoding --------------------------------------------------------------------
    def prepare_index(self, retriever: Any, corpus: Corpus) -> None:
        """Encode a dense/SPLADE retriever's corpus on the workers into its cache (other
        first stages, and fusion parts that are not dense/SPLADE, are left to ``index``)."""
        if not self.encode:
            return
        for part in getattr(retriever, "retrievers", None) or [retriever]:
            if encode_plan.kind_of(part) is not None:
                self.encode_corpus(part, corpus)

    def encode_corpus(self, retriever: Any, corpus: Corpus) -> Any:
        """Write ``retriever``'s document vectors for ``corpus`` into its cache file (the path
        is returned); a complete cached file is left as it is."""
        kind = encode_plan.kind_of(retriever)
        if kind is None:
            raise InputError(f"{type(retriever).__name__} has no corpus encoding to shard.",
                             fix="use a Dense or Splade retriever.")
        path = encode_plan.cache_path(kind, retriever, corpus)
        if path.is_file() or not len(corpus):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        encoder = retriever.encoder
        docs = list(corpus.values())  # references: each unit's texts are built when it is sent
        units = encode_plan.units(encode_plan.lengths_of(docs), encoder.batch_size,
                                  encode_plan.call_size(kind))
        if kind == "dense":
            writer: Any = encode_plan.DenseWriter(path, len(docs), encoder.dim)
        else:
            writer = encode_plan.SpladeWriter(path, len(docs), encoder.vocab_size,
                                              retriever.quantization)
        rkind, payload = encode_plan.encoder_recipe(kind, encoder)
        key = self._key(rkind, payload, encoder.config())
        if rkind == "pickle":
            payload = self._ray().put(payload)
        spec = [rkind, payload, encoder.config()]
        truncated = 0

        def call(actor, positions):
            return actor.encode.remote(key, spec, [encode_plan.text_of(docs[p])
                                                   for p in positions])

        def on_result(positions, value):
            nonlocal truncated
            rows, cut = value
            writer.add(positions, rows)
            truncated += cut

        t0 = time.perf_counter()
        try:
            self._run_pool(units, call, on_result)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        self.stats.update(encode_s=time.perf_counter() - t0, encode_units=len(units),
                          truncated_documents=truncated)
        return path


class _RemoteFailure(Exception):
    """A worker's exception, carried back as text."""


def _raise_remote(error: dict[str, Any], task: Any) -> None:
    from rankify_lite.rerankers.driver import Batch, RerankBatchError

    if "cause" in error and isinstance(task, Batch):
        raise RerankBatchError(task, error["cause"])
    raise RankifyError(error.get("message") or error.get("cause") or "a Ray worker failed")
