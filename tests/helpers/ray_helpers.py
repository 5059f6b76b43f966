"""Rerankers and tiny models for the executor tests (shipped to Ray workers by value)."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path

from rankify_lite.rerankers.base import RerankItem, Scored

from .slow_reranker import HashReranker


class BatchedHash(HashReranker):
    """HashReranker scoring three queries per call (so batches have more than one query)."""

    query_batch_size = 3


class CrashOnce(BatchedHash):
    """Records every build (node id, pid) in ``folder/built.txt``; the first worker that gets
    ``crash_on`` dies by SIGKILL mid-batch (``folder/crashed`` marks that it happened)."""

    def __init__(self, folder: str, crash_on: str | None = None, delay: float = 0.0) -> None:
        super().__init__(delay=delay)
        self.folder, self.crash_on = folder, crash_on
        if crash_on is not None:  # only the worker copies record themselves
            import ray

            node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else "-"
            with open(Path(folder) / "built.txt", "a") as fh:
                fh.write(f"{node} {os.getpid()}\n")

    def __reduce__(self):  # rebuilt (so __init__ records the build) in every worker
        return (type(self), (self.folder, self.crash_on, self.delay))

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        marker = Path(self.folder) / "crashed"
        if self.crash_on in {it.query.id for it in items} and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super()._rerank_batch(items)


class RecordingCheckpoint:
    """An in-memory checkpoint that counts how often each query is written."""

    def __init__(self, done=None) -> None:
        self._done = dict(done or {})
        self.writes: list[str] = []

    def done(self):
        return dict(self._done)

    def add(self, qid, ranked) -> None:
        self.writes.append(qid)
        self._done[qid] = ranked


def tiny_cross_encoder(path) -> str:
    """A random-weight 2-layer BERT with a one-logit classification head."""
    import torch
    import transformers

    from .tiny import WORDS

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    tok = transformers.BertTokenizerFast(vocab=vocab)
    cfg = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=64,
                                  max_position_embeddings=64, num_labels=1,
                                  initializer_range=0.5)
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(cfg).eval().save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)
