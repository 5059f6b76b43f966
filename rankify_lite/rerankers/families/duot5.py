"""duoT5 (Pradeep et al. 2021, "The Expando-Mono-Duo Design Pattern for Text Ranking with
Pretrained Sequence-to-Sequence Models"): a pairwise seq2seq ranker, P("true") that Document0 is
more relevant than Document1, meant for the top few candidates of a first reranker (the
expando-mono-duo cascade: ``monot5 % 50 >> duot5 % 10``).

The model input and the aggregation are rank_llm 0.25.7's (``rank_llm/rerank/pairwise/duot5.py``,
``pairwise_rankllm.py``, ``pairwise_inference_handler.py``), proven equal in
``tests/rerankers/families/test_duot5.py`` by running the reference's own code:

* ``"Query: {query} Document0: {doc1} Document1: {doc2} Relevant: "`` (``prompts/duot5.yaml``),
  the query with "[12]" rewritten to "(12)";
* each passage gets half of ``context_size - 64 - len(tok("Query: {query} Document0:
  Document1:  Relevant: ")) - len(tok(""))`` (cut to words, then tokens, then decoded, as monoT5
  cuts its one passage); ``<unk>`` is removed;
* aggregation ``"rank_llm"``: every pair ``i < j`` of the candidates (in the order they come
  in) is scored once; ``s_i += p`` and ``s_j += 1 - p``, candidates sorted by ``s`` (ties keep
  the incoming order). ``"sym-sum"`` (the paper's) scores both orders:
  ``s_i += p_ij + (1 - p_ji)``, twice the passes.

The tokenizer, answer ids and P(true) are monoT5's (:class:`MonoT5Reranker`, shared code). The
pairs of all queries in a batch are scored together, length-sorted, with padding masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import RerankItem, Scored
from rankify_lite.rerankers.families.monot5 import RESERVED_FOR_OUTPUT, MonoT5Reranker
from rankify_lite.rerankers.prompts.clean import passage_content, replace_number
from rankify_lite.rerankers.prompts.presets import describe
from rankify_lite.types import Document, Query

AGGREGATIONS = {
    "rank_llm": "each pair i < j once: s_i += p, s_j += 1 - p (rank_llm's DuoT5)",
    "sym-sum": "both orders: s_i += p_ij + (1 - p_ji) (Pradeep et al. 2021)",
}


class DuoT5Reranker(MonoT5Reranker):
    """``load_reranker("duot5", model="castorini/duot5-base-msmarco")``; in a cascade after
    monoT5 on the top 50: ``Pipeline(run, [monot5 % 50 >> duot5 % 10])``."""

    family = "duot5"
    default_model = "castorini/duot5-base-msmarco"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "tokenizer", "device", "dtype", "revision",
                                      "batch_size", "context_size", "query_batch_size", "prompt",
                                      "aggregation"))

    def __init__(self, model: str | Any | None = None, *, tokenizer: Any = None,
                 device: str | None = None, dtype: Any = "float32",
                 revision: str | None = None, batch_size: int = 32, context_size: int = 512,
                 query_batch_size: int = 4, prompt: str | Path | None = None,
                 aggregation: str = "rank_llm") -> None:
        if aggregation not in AGGREGATIONS:
            raise InputError(f"unknown aggregation {aggregation!r}.",
                             fix=f"use one of {sorted(AGGREGATIONS)}.")
        super().__init__(model or self.default_model, tokenizer=tokenizer, device=device,
                         dtype=dtype, revision=revision, batch_size=batch_size,
                         context_size=context_size, query_batch_size=query_batch_size,
                         prompt=prompt or "duot5")
        self.prompt_rule = "explicit" if prompt is not None else "family default"
        self.aggregation = aggregation
        self.template.text("body", query="", doc1="", doc2="")   # placeholders checked here

    def config(self) -> dict[str, Any]:
        return {**super().config(), "family": self.family, "aggregation": self.aggregation,
                "aggregation_rule": AGGREGATIONS[self.aggregation],
                "prompt": describe(self.template, self.prompt_rule),
                "score": "sum over pairs of P(true) that the document is the better one"}

    def prompt(self, query: Query, doc1: Document, doc2: Document) -> str:  # type: ignore[override]
        """The model input for one ordered pair, built as rank_llm builds it."""
        text = replace_number(query.text)
        query_tokens = self._num_tokens(f"Query: {text} Document0:  Document1:  Relevant: ")
        max_token = (self.context_size - RESERVED_FOR_OUTPUT - query_tokens
                     - self._num_tokens(""))
        single = max_token // 2
        if single < 1:
            raise InputError(f"query {query.id!r} leaves no room for two passages in a "
                             f"context of {self.context_size} tokens.",
                             fix="use a larger context_size or a shorter query.")
        passages = []
        for doc in (doc1, doc2):
            ids = self.tokenizer.encode(passage_content(doc, single), truncation=True,
                                        max_length=single)
            passages.append(self.tokenizer.decode(ids, skip_special_tokens=True))
        body = self.template.text("body", query=text, doc1=passages[0], doc2=passages[1])
        return body.replace("<unk>", "")

    def _pairs(self, n: int) -> list[tuple[int, int]]:
        ordered = [(i, j) for i in range(n) for j in range(i + 1, n)]
        if self.aggregation == "sym-sum":
            ordered += [(j, i) for i, j in ordered]
        return ordered

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        jobs = [(k, i, j) for k, it in enumerate(items) for i, j in self._pairs(len(it.documents))]
        prompts = [self.prompt(items[k].query, items[k].documents[i], items[k].documents[j])
                   for k, i, j in jobs]
        probs, lengths = self.score_prompts(prompts) if prompts else ([], [])
        totals = [[0.0] * len(it.documents) for it in items]
        for (k, i, j), p in zip(jobs, probs, strict=True):
            totals[k][i] += float(p)
            totals[k][j] += 1.0 - float(p)
        for key, v in (("prompts", len(prompts)), ("forward_passes", len(prompts)),
                       ("input_tokens", sum(lengths))):
            self.stats[key] = self.stats.get(key, 0) + v
        return [[(d.id, s) for d, s in zip(it.documents, t, strict=True)]
                for it, t in zip(items, totals, strict=True)]
