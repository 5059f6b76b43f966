"""Setwise ranking prompting (Zhuang et al. 2024, SIGIR; arXiv 2310.09497).

The model is shown a *set* of ``num_child + 1`` passages labelled "Passage A", "Passage B", ...
and asked which one is the most relevant (``prompts/setwise.yaml``). A sorting algorithm whose
comparison picks the best of a set puts the top ``k`` in order:

* ``method="heapsort"`` (default): a ``num_child``-ary max-heap is built over the candidates,
  then the root is taken ``k`` times, re-heapifying after each; a node is compared with its
  children as one set;
* ``method="bubblesort"``: ``k`` passes from the bottom of the list up, over overlapping sets
  of ``num_child + 1`` passages stepping by ``num_child``; the set's best moves to the set's
  top; a pass that changed nothing lets the next start higher (the reference's shortcut).

Both follow ielab/llm-rankers 0.0.2 (``SetwiseLlmRanker``) step for step, so the prompts, their
order and the number of comparisons are the reference's (``tests/rerankers/families/test_setwise.py``
runs the reference's own code on DL19 candidates). The top ``k`` come first, the rest follow
in first-stage order; scores are rank-based.

Two ways to read the model's choice (``scoring=``):

* ``"generation"`` (default): greedy decoding; causal LMs get the chat template with the
  user turn and the assistant pre-filled with " Passage:", one new token, stripped and
  upper-cased, must be a label; T5 decodes two tokens after the decoder prefix "<pad> Passage"
  and the last character of the decoded output is the label (the reference's parsing);
* ``"likelihood"``: no generation; the label tokens' logits at the next position, over the
  labels of the set only, and the highest wins (first label on ties). The reference has this
  for T5 only; for causal LMs it is ours, with the same prompt as generation.

An answer that is not a label of the set counts in ``malformed`` and keeps the set's first
passage (the reference's fallback; a label beyond the set, which the reference's bubble sort
would swap in from outside the set, is treated the same way). Truncation as the reference's
``run.py``: passages (title + text) and the query are cut to ``passage_tokens`` /
``query_tokens`` tokens of the model's tokenizer. T5 models (``is_encoder_decoder`` in the
config) run in-process with the slow SentencePiece tokenizer (as the reference loads it);
causal LMs go through any LLM engine.

Cost in ``run.metadata["llm_stats"]``: ``comparisons`` (the reference's ``total_compare``: sets
the algorithm asked about, a set of one passage included), ``forward_passes`` / ``prompts``
(sets actually run through the model: one-passage sets are answered without it),
``input_tokens``, ``output_tokens`` (generated), ``malformed``, ``model_calls``. The sorts of
every query in a batch advance together: each backend call holds the next set of every query.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import RerankItem, Scored
from rankify_lite.rerankers.engines.llm_backend import single_token_ids
from rankify_lite.rerankers.llm.base import LLMReranker
from rankify_lite.rerankers.prompts.presets import describe
from rankify_lite.rerankers.prompts.templates import load_prompt
from rankify_lite.types import Document, Query

METHODS = ("heapsort", "bubblesort")
SCORINGS = ("generation", "likelihood")
DEFAULT_PROMPT = "setwise"
#: a sort: yields the doc indices of each set, receives the winner's position in the set,
#: returns the final order (doc indices, best first)
Sort = Generator[list[int], int, list[int]]


def _finish(arr: list[int], top: list[int]) -> list[int]:
    chosen = set(top)
    return top + [j for j in sorted(arr) if j not in chosen]


def _heapify(arr: list[int], n: int, i: int, c: int) -> Generator[list[int], int, None]:
    while c * i + 1 < n:
        positions = [i, *range(c * i + 1, min(c * (i + 1) + 1, n))]
        best = yield [arr[p] for p in positions]
        largest = positions[best]
        if largest == i:
            return
        arr[i], arr[largest] = arr[largest], arr[i]
        i = largest


def heapsort(n: int, c: int, k: int) -> Sort:
    """Setwise heap sort of ``n`` candidates with ``c`` children per node, top ``k``."""
    arr = list(range(n))
    for i in range(n // c, -1, -1):
        yield from _heapify(arr, n, i, c)
    ranked = 0
    for i in range(n - 1, 0, -1):
        arr[i], arr[0] = arr[0], arr[i]
        ranked += 1
        if ranked == k:
            break
        yield from _heapify(arr, i, 0, c)
    return _finish(arr, arr[::-1][:k])


def bubblesort(n: int, c: int, k: int) -> Sort:
    """Setwise bubble sort: ``k`` bottom-up passes over sets of ``c + 1`` stepping by ``c``."""
    arr = list(range(n))
    first_start = n - (c + 1)
    last_start = first_start
    for i in range(k):  # as the reference: k passes even when k > n (empty sets)
        start, end, changed = last_start, last_start + c + 1, False
        while True:
            start = max(start, i)
            size = len(arr[start:end])
            best = yield arr[start:end]
            if best != 0:
                arr[start], arr[start + best] = arr[start + best], arr[start]
                if not changed:
                    changed = True
                    if last_start != first_start and best == size - 1:
                        last_start += size - 1
            if start == i:
                break
            if not changed:
                last_start -= c
            start, end = start - c, end - c
    return _finish(arr, arr[:k])


SORTS = {"heapsort": heapsort, "bubblesort": bubblesort}


class SetwiseReranker(LLMReranker):
    """``load_reranker("setwise", model=..., method="heapsort", num_child=3, k=10)``."""

    family = "setwise"
    default_model = "HuggingFaceTB/SmolLM2-135M-Instruct"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "method", "scoring", "num_child", "k",
                                      "passage_tokens", "query_tokens", "prompt"))

    #: the packaged template used when ``prompt`` is not given, and the fields it must have
    default_prompt: str = DEFAULT_PROMPT
    prompt_fields: tuple[str, ...] = ("user", "passage", "passage_separator", "labels",
                                      "assistant_prefix", "decoder_prefix")

    def __init__(self, model: str | Any | None = None, *, method: str = "heapsort",
                 scoring: str = "generation", num_child: int = 3, k: int = 10,
                 passage_tokens: int = 128, query_tokens: int = 128,
                 prompt: str | Path | None = None, **kwargs: Any) -> None:
        if method not in METHODS:
            raise InputError(f"unknown setwise method {method!r}.", fix=f"use one of {METHODS}.")
        if scoring not in SCORINGS:
            raise InputError(f"unknown setwise scoring {scoring!r}.",
                             fix=f"use one of {SCORINGS}.")
        template = load_prompt(prompt or self.default_prompt, required=self.prompt_fields)
        labels = self._labels(template)
        if num_child < 1 or num_child + 1 > len(labels) or len(set(labels)) != len(labels):
            raise InputError(f"num_child={num_child} needs {num_child + 1} distinct labels; "
                             f"the template has {len(labels)}.", path=template.path,
                             fix=f"use 1 <= num_child <= {len(labels) - 1}.")
        if k < 1 or passage_tokens < 1 or query_tokens < 1:
            raise InputError("k, passage_tokens and query_tokens must be >= 1.",
                             fix="use e.g. k=10, passage_tokens=128, query_tokens=128.")
        self.seq2seq = kwargs.get("backend") is None and _is_encoder_decoder(
            model or self.default_model, kwargs.get("revision"))
        if self.seq2seq:
            kwargs["backend"] = _t5_backend(model, template.text("decoder_prefix"), kwargs)
            model = None
        super().__init__(model, **kwargs)
        self.method, self.scoring = method, scoring
        self.num_child, self.k = int(num_child), int(k)
        self.passage_tokens, self.query_tokens = int(passage_tokens), int(query_tokens)
        self.template, self.labels = template, labels
        self.prompt_rule = "explicit" if prompt is not None else "family default"
        self.label_ids = self._label_ids() if scoring == "likelihood" else []

    @staticmethod
    def _labels(template: Any) -> list[str]:
        """The set's labels, in order (one per character of the template's ``labels``)."""
        return list(str(template.get("labels")))

    def _label_ids(self) -> list[int]:
        if self.seq2seq:  # the label's token right after the decoder prefix
            prefix = self.template.text("decoder_prefix")
            ids = [self.backend.encode(f"{prefix} {lab}")[-1] for lab in self.labels]
            if len(set(ids)) != len(ids):
                raise InputError("the setwise labels are not distinct single tokens after the "
                                 "decoder prefix for this tokenizer.", path=self.template.path,
                                 fix="use scoring='generation', or other labels.")
            return ids
        context = self._render(Query("q", "x"), [Document("d", "x")])
        return single_token_ids(self.backend, context, [f" {lab}" for lab in self.labels],
                                what="setwise label",
                                fix="use scoring='generation', or labels that are single "
                                    "tokens after assistant_prefix for this model.")

    def config(self) -> dict[str, Any]:
        return {**self._base_config(), "method": self.method, "scoring": self.scoring,
                "num_child": self.num_child, "k": self.k,
                "passage_tokens": self.passage_tokens, "query_tokens": self.query_tokens,
                "model_kind": "seq2seq" if self.seq2seq else "causal",
                "prompt": describe(self.template, self.prompt_rule),
                **({"label_token_ids": self.label_ids} if self.label_ids else {})}

    # -- prompts -------------------------------------------------------------------------------
    def truncate(self, text: str, tokens: int) -> str:
        """The first ``tokens`` tokens of ``text`` as text (the reference's ``truncate``)."""
        tok = getattr(self.backend, "tokenizer", None)
        if tok is not None and hasattr(tok, "convert_tokens_to_string"):
            return tok.convert_tokens_to_string(tok.tokenize(text)[:tokens])
        ids = self.backend.encode(text)
        return text if len(ids) <= tokens else self.backend.decode(ids[:tokens])

    def _render(self, query: Query, docs: Sequence[Document]) -> str:
        t = self.template
        passages = t.text("passage_separator").join(
            t.text("passage", label=self.labels[i], text=self.truncate(
                d.full_text(), self.passage_tokens)) for i, d in enumerate(docs))
        user = t.text("user", query=self.truncate(query.text, self.query_tokens),
                      passages=passages)
        if self.seq2seq:
            return user
        return self.backend.render_chat([{"role": "user", "content": user}]) \
            + t.text("assistant_prefix")

    def prompt(self, query: Query, docs: Sequence[Document]) -> str:
        """The prompt text for one set (label A first)."""
        if len(docs) > len(self.labels):
            raise InputError(f"a set of {len(docs)} passages has more than the template's "
                             f"{len(self.labels)} labels.", fix="use a smaller num_child.")
        return self._render(query, docs)

    # -- comparisons ---------------------------------------------------------------------------
    def _choose(self, asks: Sequence[tuple[RerankItem, list[int]]]) -> list[int]:
        """The winner's position in each set (0 for an unusable answer)."""
        best = [0] * len(asks)
        todo = [n for n, (_, s) in enumerate(asks) if len(s) > 1]
        self._count(comparisons=len(asks))
        if not todo:
            return best
        texts = [self.prompt(asks[n][0].query, [asks[n][0].documents[j] for j in asks[n][1]])
                 for n in todo]
        ids = [self.prompt_ids(t) for t in texts]
        sizes = [len(asks[n][1]) for n in todo]
        if self.scoring == "likelihood":
            out = self.backend.next_token_logits(ids, self.label_ids)
            answers = [self.labels[int(np.argmax(out.logits[r, :size]))]
                       for r, size in enumerate(sizes)]
            raw, generated, lengths = answers, [0] * len(todo), list(out.input_tokens)
        else:
            gens = self.backend.generate(ids, max_new_tokens=2 if self.seq2seq else 1)
            raw = [g.text for g in gens]
            answers = [_parse(g.text, self.seq2seq) for g in gens]
            generated, lengths = [g.output_tokens for g in gens], [g.input_tokens for g in gens]
        malformed = 0
        for r, (n, ans) in enumerate(zip(todo, answers, strict=True)):
            pos = self.labels.index(ans) if ans in self.labels else -1
            if 0 <= pos < sizes[r]:
                best[n] = pos
            else:
                malformed += 1
        self._count(model_calls=1, prompts=len(todo), forward_passes=len(todo),
                    input_tokens=sum(lengths), output_tokens=sum(generated),
                    malformed=malformed)
        self._log([{"qid": asks[n][0].query.id,
                    "doc_ids": [asks[n][0].documents[j].id for j in asks[n][1]],
                    "prompt": texts[r], "answer": raw[r], "choice": best[n],
                    "input_tokens": int(lengths[r]), "output_tokens": int(generated[r])}
                   for r, n in enumerate(todo)])
        return best

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        sort = SORTS[self.method]
        running: dict[int, tuple[Sort, list[int]]] = {}
        orders: dict[int, list[int]] = {}
        for q, it in enumerate(items):
            gen = sort(len(it.documents), self.num_child, self.k)
            _advance(q, gen, None, running, orders)
        while running:
            qs = list(running)
            winners = self._choose([(items[q], running[q][1]) for q in qs])
            for q, w in zip(qs, winners, strict=True):
                _advance(q, running[q][0], w, running, orders)
        return [[(items[q].documents[j].id, float(len(orders[q]) - r))
                 for r, j in enumerate(orders[q])] for q in range(len(items))]

    def _reset_stats(self) -> None:
        super()._reset_stats()
        self.stats.update(forward_passes=0, comparisons=0, malformed=0)


def _advance(q: int, gen: Sort, answer: int | None, running: dict, orders: dict) -> None:
    try:
        ask = next(gen) if answer is None else gen.send(answer)
    except StopIteration as stop:
        running.pop(q, None)
        orders[q] = stop.value
        return
    running[q] = (gen, ask)


def _parse(text: str, seq2seq: bool) -> str:
    """The label in a generated answer, as the reference reads it ('' when there is none)."""
    if seq2seq:  # the last character of the decoder's output ("Passage A" -> "A")
        text = text.strip()
        return text[-1] if text else ""
    return text.strip().upper()


def _is_encoder_decoder(model: Any, revision: str | None) -> bool:
    if not isinstance(model, str | Path):
        return bool(getattr(getattr(model, "config", None), "is_encoder_decoder", False))
    from rankify_lite.models import loader

    cfg = loader.model_json(str(model), "config.json", revision) or {}
    return bool(cfg.get("is_encoder_decoder", False))


def _t5_backend(model: Any, decoder_prefix: str, kwargs: dict[str, Any]) -> Any:
    engine = kwargs.pop("engine", "transformers")
    if engine != "transformers":
        raise InputError(f"engine={engine!r} does not run encoder-decoder (T5) models.",
                         fix="use engine='transformers' for T5 models.")
    from rankify_lite.rerankers.engines.seq2seq_backend import Seq2SeqBackend

    opts = {k: kwargs.pop(k) for k in ("tokenizer", "device", "dtype", "revision",
                                       "max_context", "batch_size") if k in kwargs}
    return Seq2SeqBackend(model, decoder_prefix_text=decoder_prefix, **opts)
