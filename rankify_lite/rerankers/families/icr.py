"""In-context re-ranking (ICR; Chen et al. 2024, "Attention in Large Language Models Yields
Efficient Zero-Shot Re-Rankers", arXiv 2410.02642).

All candidates go into ONE prompt (``prompts/icr.yaml``), the query after them; the score of a
document is the attention its tokens receive from the query tokens. As in the authors' code
(OSU-NLP-Group/In-Context-Reranking, scoring strategy ``masked_NA_calibration``, the default):

* documents are numbered [1]..[N] in prompt order; with ``reverse_order=True`` (default, the
  authors' BEIR setting ``--reverse_doc_order``) the first-stage best is LAST, closest to the
  query; each passage is cut to ``passage_words`` words (their BEIR runs: 300);
* attention weights from every query-span token (first token of the instruction after the
  documents through the end of the prompt, the chat template's assistant header included) are
  averaged over those query tokens, summed over heads and over all layers: one value per
  prompt token;
* a second forward pass with the content-free query "N/A" gives the same per-token values;
  per document, with ``c = query - calibration`` per token, tokens with
  ``c <= mean(c) - 2 * std(c)`` (sample std, as torch's) are masked out and the score is the
  sum of ``c`` over the rest. Documents of one token score 0 (the reference's NaN mask).

Two forward passes per query, whatever the number of candidates; queries of a batch share the
backend's padded batches. Differences from the reference, none of which changes the math: the
calibration pass is run in full rather than re-using the key/value cache of the shared prefix,
and the prompt goes through the model's own chat template (the reference hard-codes Llama-3 and
Mistral headers).

Attention weights: ICR needs them, and only the in-process transformers model exposes them.
The model is loaded (or switched) with ``attn_implementation="eager"``, whose attention
modules return the softmax weights; a forward hook on every attention module reduces them to
the per-token values at once (the full layers x heads x L x L tensor is never kept). Other
engines (vLLM, servers) are refused with an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import RerankItem, Scored
from rankify_lite.rerankers.engines.llm_backend import TransformersBackend
from rankify_lite.rerankers.llm.base import LLMReranker, truncate_words
from rankify_lite.rerankers.prompts.clean import fix_text
from rankify_lite.rerankers.prompts.presets import describe
from rankify_lite.rerankers.prompts.templates import load_prompt
from rankify_lite.types import Document

DEFAULT_PROMPT = "icr"
_ATTENTION_NAMES = ("self_attn", "attn", "attention", "self_attention")


def load_eager_backend(model: Any, tokenizer: Any = None, *, device: str | None = None,
                       dtype: Any = None, revision: str | None = None,
                       max_context: int | None = None, batch_size: int = 8) -> TransformersBackend:
    """A :class:`TransformersBackend` whose model runs eager attention (weights exposed)."""
    require("torch", extra="llm", feature="ICR")
    require("transformers", extra="llm", feature="ICR")
    backend = TransformersBackend(model, tokenizer, device=device, dtype=dtype,
                                  revision=revision, max_context=max_context,
                                  batch_size=batch_size, attention="eager")
    use_eager(backend)  # a model object may have been built with another attention
    return backend


def use_eager(backend: Any) -> None:
    """Switch a transformers backend's model to eager attention; refuse other engines."""
    if not isinstance(backend, TransformersBackend):
        raise InputError(f"ICR reads attention weights, which the {type(backend).__name__} "
                         "engine does not expose.",
                         fix="use the in-process transformers backend (pass model=..., or "
                             "backend=TransformersBackend(...)).")
    model = backend.model
    if getattr(model.config, "_attn_implementation", "eager") != "eager":
        setter = getattr(model, "set_attn_implementation", None)
        if callable(setter):
            setter("eager")
        else:
            model.config._attn_implementation = "eager"


class ICRReranker(LLMReranker):
    """``load_reranker("icr", model=..., passage_words=300)``: two forward passes per query."""

    family = "icr"
    default_model = "HuggingFaceTB/SmolLM2-135M-Instruct"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "tokenizer", "device", "dtype", "revision",
                                      "max_context", "batch_size", "passage_words",
                                      "reverse_order", "prompt", "clean_text", "mask_std"),
                                python=("backend",))

    def __init__(self, model: str | Any | None = None, *, backend: Any = None,
                 tokenizer: Any = None, device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, max_context: int | None = None,
                 batch_size: int = 4, passage_words: int = 300, reverse_order: bool = True,
                 prompt: str | Path | None = None, clean_text: bool = True,
                 mask_std: float = 2.0, **kwargs: Any) -> None:
        if passage_words < 1:
            raise InputError(f"passage_words must be >= 1, got {passage_words}.",
                             fix="use e.g. passage_words=300.")
        if backend is None:
            backend = load_eager_backend(model or self.default_model, tokenizer, device=device,
                                         dtype=dtype, revision=revision,
                                         max_context=max_context, batch_size=batch_size)
        elif model is not None:
            raise InputError("both model= and backend= were given.",
                             fix="pass one: a model id/folder, or a ready backend.")
        else:
            use_eager(backend)
        super().__init__(backend=backend, **kwargs)
        if not getattr(backend.tokenizer, "is_fast", False):
            raise InputError("ICR locates documents by character offsets, which need a fast "
                             "(Rust) tokenizer.", fix="load the model's tokenizer with "
                                                      "use_fast=True.")
        self.passage_words, self.reverse_order = int(passage_words), bool(reverse_order)
        self.clean_text, self.mask_std = clean_text, float(mask_std)
        self.template = load_prompt(prompt or DEFAULT_PROMPT, required=(
            "system", "intro", "separator", "document", "instruction", "query",
            "calibration_query"))
        self.prompt_rule = "explicit" if prompt is not None else "family default"
        self._attention = [m for name, m in backend.model.named_modules()
                           if name.rsplit(".", 1)[-1] in _ATTENTION_NAMES]
        if not self._attention:
            raise InputError(f"found no attention modules in {type(backend.model).__name__}.",
                             fix="ICR supports decoder models whose attention modules are "
                                 "named self_attn / attn / attention.")

    def config(self) -> dict[str, Any]:
        return {**self._base_config(), "passage_words": self.passage_words,
                "reverse_order": self.reverse_order, "clean_text": self.clean_text,
                "mask_std": self.mask_std, "attention": "eager softmax weights",
                "scoring": "masked N/A calibration, sum over layers and heads, mean over "
                           "query tokens", "prompt": describe(self.template, self.prompt_rule)}

    # -- prompts -------------------------------------------------------------------------------
    def _passage(self, doc: Document, words: int) -> str:
        text = truncate_words(doc.text.strip(), words)
        if doc.title:
            text = f"{doc.title.strip()}\n{text}"
        return fix_text(text) if self.clean_text else text

    def build(self, query: str, docs: Sequence[Document], words: int
              ) -> tuple[str, list[tuple[int, int]], int]:
        """(prompt text, character span of each document in ``docs`` order, character start of
        the query span)."""
        t = self.template
        sep = t.text("separator")
        shown = list(reversed(range(len(docs)))) if self.reverse_order else list(range(len(docs)))
        parts = [t.text("intro")]
        for pos, j in enumerate(shown):
            parts.append(t.text("document", index=pos + 1, passage=self._passage(docs[j], words)))
        instruction_at = len(parts)
        parts += [t.text("instruction"), t.text("query", query=query.strip())]
        user = sep.join(parts)
        messages = []
        if t.text("system"):
            messages.append({"role": "system", "content": t.text("system")})
        messages.append({"role": "user", "content": user})
        text = self.backend.render_chat(messages)
        base = text.rfind(user)
        if base < 0:
            raise InputError("the chat template changed the ICR prompt's text, so documents "
                             "cannot be located in it.",
                             fix="use a model whose chat template inserts the user turn as is.")
        starts, at = [], base
        for p in parts:
            starts.append(at)
            at += len(p) + len(sep)
        spans: list[tuple[int, int]] = [(0, 0)] * len(docs)
        for pos, j in enumerate(shown):
            s = starts[1 + pos]
            spans[j] = (s, s + len(parts[1 + pos]))
        return text, spans, starts[instruction_at]

    def _encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.backend.tokenizer(text, add_special_tokens=self.bos != "none",
                                     return_offsets_mapping=True)
        ids, offsets = list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
        want = self.prompt_ids(text)
        if ids != want:
            drop = len(ids) - len(want)
            if drop > 0 and ids[drop:] == want:
                ids, offsets = ids[drop:], offsets[drop:]
            else:
                raise InputError("token offsets disagree with the prompt's token ids.",
                                 fix="use bos='reference' or bos='none'.")
        return ids, offsets

    def _prepare(self, item: RerankItem) -> dict[str, Any]:
        words, limit = self.passage_words, self.backend.max_context - 1
        while True:
            runs = []
            for q in (item.query.text, self.template.text("calibration_query")):
                text, spans, q_start = self.build(q, item.documents, words)
                ids, offsets = self._encode(text)
                tok_spans = []
                for a, b in spans:
                    idx = [k for k, (s, e) in enumerate(offsets) if e > s and a <= s < b]
                    tok_spans.append((idx[0], idx[-1] + 1) if idx else (0, 0))
                query_toks = [k for k, (s, e) in enumerate(offsets) if s >= q_start and e > s]
                runs.append({"text": text, "ids": ids, "doc_spans": tok_spans,
                             "query_tokens": query_toks})
            n = max(len(r["ids"]) for r in runs)
            if n <= limit:
                break
            if words == 1:
                raise InputError(f"the ICR prompt for query {item.query.id!r} does not fit the "
                                 f"model's context of {self.backend.max_context} tokens.",
                                 fix="rerank fewer candidates (depth) or use a longer-context "
                                     "model.")
            words = max(1, min(words - 1, int(words * limit / n * 0.95)))
        main, calib = runs
        for (a, b), (c, d) in zip(main["doc_spans"], calib["doc_spans"], strict=True):
            if main["ids"][a:b] != calib["ids"][c:d]:
                raise InputError(f"query {item.query.id!r}: a document tokenizes differently in "
                                 "the query and calibration prompts.",
                                 fix="check the ICR template's separators.")
        return {"main": main, "calib": calib, "words": words}

    # -- attention -----------------------------------------------------------------------------
    def token_attention(self, prompts: Sequence[dict[str, Any]]) -> list[np.ndarray]:
        """Per prompt: for each token, the attention it receives from the prompt's query
        tokens, averaged over query tokens, summed over heads and layers (float64)."""
        import torch

        ids_list = [p["ids"] for p in prompts]
        results: list[np.ndarray | None] = [None] * len(prompts)
        state: dict[str, Any] = {}

        def hook(_module: Any, _args: Any, output: Any) -> None:
            w = output[1] if isinstance(output, tuple) and len(output) > 1 else None
            if w is None or w.dim() != 4 or w.shape[-1] != w.shape[-2]:
                return
            state["layers"] += 1
            state["acc"] += torch.einsum("bhqk,bq->bk", w.float(), state["weights"])

        handles = [m.register_forward_hook(hook) for m in self._attention]
        try:
            with torch.inference_mode():
                for idx, ids, mask, pos in self.backend._batches(ids_list):
                    width = ids.shape[1]
                    weights = torch.zeros((len(idx), width), dtype=torch.float32)
                    for row, i in enumerate(idx):
                        shift = width - len(ids_list[i])
                        q = prompts[i]["query_tokens"]
                        weights[row, [shift + k for k in q]] = 1.0 / len(q)
                    state.update(weights=weights.to(ids.device), layers=0,
                                 acc=torch.zeros((len(idx), width), dtype=torch.float32,
                                                 device=ids.device))
                    self.backend.model(input_ids=ids, attention_mask=mask, position_ids=pos,
                                       use_cache=False, logits_to_keep=1)
                    if state["layers"] == 0:
                        raise InputError("the model returned no attention weights.",
                                         fix="ICR needs attn_implementation='eager' (set by "
                                             "this reranker); check the model supports it.")
                    acc = state["acc"].double().cpu().numpy()
                    for row, i in enumerate(idx):
                        results[i] = acc[row, width - len(ids_list[i]):]
        finally:
            for h in handles:
                h.remove()
        return [r for r in results if r is not None]

    def _doc_scores(self, main: dict[str, Any], calib: dict[str, Any], att: np.ndarray,
                    att_na: np.ndarray) -> list[float]:
        scores = []
        for (a, b), (c, d) in zip(main["doc_spans"], calib["doc_spans"], strict=True):
            s, n = att[a:b], att_na[c:d]
            cal = s - n
            if len(cal) < 2:
                scores.append(0.0)
                continue
            keep = cal > cal.mean() - self.mask_std * cal.std(ddof=1)
            scores.append(float((cal * keep).sum()))
        return scores

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        prepared = [self._prepare(it) for it in items]
        prompts = [p[k] for p in prepared for k in ("main", "calib")]
        att = self.token_attention(prompts)
        n_tokens = sum(len(p["ids"]) for p in prompts)
        self._count(model_calls=1, prompts=len(prompts), forward_passes=len(prompts),
                    input_tokens=n_tokens)
        result: list[Scored] = []
        records = []
        for k, (it, p) in enumerate(zip(items, prepared, strict=True)):
            scores = self._doc_scores(p["main"], p["calib"], att[2 * k], att[2 * k + 1])
            result.append([(d.id, s) for d, s in zip(it.documents, scores, strict=True)])
            records.append({"qid": it.query.id, "prompt": p["main"]["text"],
                            "passage_words": p["words"],
                            "scores": dict(zip([d.id for d in it.documents], scores,
                                               strict=True)),
                            "input_tokens": len(p["main"]["ids"]) + len(p["calib"]["ids"]),
                            "output_tokens": 0})
        self._log(records)
        return result

    def _reset_stats(self) -> None:
        super()._reset_stats()
        self.stats["forward_passes"] = 0

