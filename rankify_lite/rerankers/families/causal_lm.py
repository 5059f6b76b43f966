"""Causal-LM pointwise rerankers in each model's own input format: Qwen3-Reranker,
mxbai-rerank-v2, bge-reranker-v2-gemma (and the layer cut-off of bge's layerwise reranker).

One family, several formats; a format is a packaged template (``prompts/qwen3_reranker.yaml``,
``mxbai_rerank_v2.yaml``, ``bge_reranker_llm.yaml``) chosen by model id through
:mod:`prompts.presets` (``prompt=`` picks another one or a YAML file). The template holds every
piece of text; its ``layout`` names how the pieces become token ids, as the reference does:

``qwen3`` (the Qwen3-Reranker model card)
    ``prefix + tokenizer(body)[:max_length - |prefix| - |suffix|] + suffix``, each part
    tokenized on its own; score ``P(yes) = softmax([no, yes])[yes]``.
``mxbai`` (mxbai-rerank 0.1.6, ``MxbaiRerankV2.prepare_inputs``)
    query cut to ``3/4 max_length``, document to what is left, only the document side of
    ``query + sep + document`` cut to ``max_length``; then ``prefix + ... + sep + task +
    suffix``; score ``logit("1") - logit("0")``.
``bge`` (FlagEmbedding 1.4.2, ``FlagLLMReranker.compute_score_single_gpu``)
    ``[BOS] + query[:3/4 max_length]`` and ``sep + passage[:max_length]``, the second cut to
    ``max_length + |sep| + |task|``, then ``sep + task``; score: the raw logit of "Yes".
    ``cutoff_layers=k`` (bge-reranker-v2-minicpm-layerwise's option) reads the score from the
    hidden state after ``k`` decoder layers (see :mod:`causal_lm_layers`); a minicpm-layerwise
    checkpoint is loaded without remote code (:mod:`minicpm_layerwise`), its BOS always added.

In every layout the scoring suffix is added after the cut: truncation only ever shortens the
query or passage. All (query, passage) pairs of a batch of queries go through the model
together (length-sorted batches of ``batch_size``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import RerankItem, Scored
from rankify_lite.rerankers.families._scoring import split_per_query
from rankify_lite.rerankers.llm.base import LLMReranker
from rankify_lite.rerankers.prompts.presets import describe, resolve_prompt
from rankify_lite.types import Document, Query

#: what each layout needs in its template
LAYOUT_FIELDS: dict[str, tuple[str, ...]] = {
    "qwen3": ("prefix", "body", "suffix", "default_instruction", "true_word", "false_word"),
    "mxbai": ("prefix", "sep", "instruction", "query", "document", "task", "suffix",
              "true_word", "false_word"),
    "bge": ("query", "passage", "sep", "task", "true_word"),
}
#: how the answer logits become a score
SCORES = {"p_true": "P(true) = softmax([false, true])[true] at the last position",
          "logit_difference": "logit(true) - logit(false) at the last position",
          "true_logit": "the raw logit of the true token at the last position"}


def cut_second(first: Sequence[int], second: Sequence[int], max_length: int) -> list[int]:
    """``second`` cut from the right so that ``first + second`` fits ``max_length``; left
    whole when even an empty ``second`` would not fit (the tokenizers' "only_second" rule)."""
    over = len(first) + len(second) - max_length
    if over <= 0 or len(second) <= over:
        return list(second)
    return list(second[:-over])


class CausalLMReranker(LLMReranker):
    """``load_reranker("causal-lm", model="Qwen/Qwen3-Reranker-0.6B", instruction=...)``.

    ``instruction`` replaces the format's task text: Qwen3's ``<Instruct>``, mxbai's optional
    ``instruction:`` line, bge's task prompt. ``max_length`` defaults to the format's reference
    value (Qwen3 8192, mxbai 8192, bge 512), capped by the model's context.
    """

    family = "causal-lm"
    default_model = "Qwen/Qwen3-Reranker-0.6B"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "prompt", "instruction", "max_length",
                                      "cutoff_layers"))

    def __init__(self, model: str | Any | None = None, *, prompt: str | Path | None = None,
                 instruction: str | None = None, max_length: int | None = None,
                 cutoff_layers: int | None = None, **kwargs: Any) -> None:
        if prompt is not None:  # a bad template fails here, before the model loads
            self._check_template(resolve_prompt(self.family, "", prompt, ("layout",))[0])
        if kwargs.get("bos", "reference") != "reference":
            raise InputError("the causal-lm formats fix their own special tokens; bos= does "
                             "not apply.", fix="drop the bos option.")
        if max_length is not None and max_length < 8:
            raise InputError(f"max_length must be >= 8, got {max_length}.",
                             fix="use e.g. max_length=512.")
        from rankify_lite.rerankers.families.minicpm_layerwise import layerwise_config

        layerwise = layerwise_config(model, kwargs.get("revision"))
        self._heads = None
        if layerwise is not None:       # bge-reranker-v2-minicpm-layerwise: no remote code
            from rankify_lite.rerankers.engines.llm_backend import TransformersBackend
            from rankify_lite.rerankers.families.minicpm_layerwise import load_layerwise

            net, self._heads = load_layerwise(layerwise)
            tok = kwargs.pop("tokenizer", None)
            if tok is None:
                import transformers

                tok = transformers.AutoTokenizer.from_pretrained(layerwise["_folder"])
            kwargs["backend"] = TransformersBackend(
                net, tok, device=kwargs.pop("device", None), dtype=kwargs.pop("dtype", None),
                revision=kwargs.pop("revision", None),
                max_context=kwargs.pop("max_context", None),
                batch_size=kwargs.pop("batch_size", 8))
            prompt = prompt or "bge_reranker_llm"
            cutoff_layers = int(cutoff_layers or layerwise["num_hidden_layers"])
            model = None
        super().__init__(model, **kwargs)
        self.template, self.prompt_rule = resolve_prompt(self.family, self.model_id, prompt,
                                                         required=("layout", "score"))
        self.layout = self._check_template(self.template)
        self.score_rule = str(self.template.get("score"))
        if self.score_rule not in SCORES:
            raise InputError(f"unknown score rule {self.score_rule!r}.", path=self.template.path,
                             fix=f"use one of {sorted(SCORES)}.")
        self.instruction = instruction
        default_max = int(self.template.get("max_length")) if "max_length" in \
            self.template.fields else 512
        self.max_length = int(max_length) if max_length is not None else default_max
        self.cutoff_layers = cutoff_layers
        if self.score_rule == "true_logit" or cutoff_layers is not None:
            if self.backend.config().get("backend") != "transformers":
                raise InputError(f"the {self.layout!r} format scores with raw logits, which "
                                 "only the transformers engine returns (others give "
                                 "log-probabilities).", fix="use engine='transformers'.")
        if cutoff_layers is not None:
            if self.layout != "bge":
                raise InputError("cutoff_layers is an option of the bge layerwise format.",
                                 fix="use prompt='bge_reranker_llm' or drop cutoff_layers.")
            from rankify_lite.rerankers.families.causal_lm_layers import LayerScorer

            self._layers = LayerScorer(self.backend, int(cutoff_layers), self._heads)
        self._pieces = {k: self._ids(self.template.text(k)) for k in
                        ("prefix", "suffix", "sep", "task") if k in self.template.fields}
        self.true_id = self._answer_id("true_word")
        self.false_id = self._answer_id("false_word") if "false_word" in \
            self.template.fields else None
        if self.true_id == self.false_id:
            raise InputError("the true and false answer words are the same token.",
                             path=self.template.path, fix="use distinct answer words.")

    @staticmethod
    def _check_template(template: Any) -> str:
        layout = str(template.get("layout"))
        if layout not in LAYOUT_FIELDS:
            raise InputError(f"unknown layout {layout!r}.", path=template.path,
                             fix=f"use one of {sorted(LAYOUT_FIELDS)}.")
        missing = [k for k in LAYOUT_FIELDS[layout] if k not in template.fields]
        if missing:
            raise InputError(f"the {layout!r} layout needs the fields {missing}.",
                             path=template.path, fix=f"add {missing} to the template.")
        return layout

    def _ids(self, text: str) -> list[int]:
        return self.backend.encode(text, add_special_tokens=False)

    def _answer_id(self, key: str) -> int:
        word = self.template.text(key)
        ids = self._ids(word)
        if len(ids) != 1:
            raise InputError(f"the answer word {word!r} is {len(ids)} tokens for this model's "
                             "tokenizer; the format reads one token.", path=self.template.path,
                             fix="use a model of this format or a single-token answer word.")
        return int(ids[0])

    def config(self) -> dict[str, Any]:
        base = {k: v for k, v in self._base_config().items() if k != "bos"}
        return {**base, "format": self.layout, "instruction": self.instruction,
                "max_length": self.max_length, "cutoff_layers": self.cutoff_layers,
                "prompt": describe(self.template, self.prompt_rule),
                "true_token_id": self.true_id, "false_token_id": self.false_id,
                "score": SCORES[self.score_rule]}

    # -- inputs --------------------------------------------------------------------------------
    def input_ids(self, query: Query, doc: Document) -> list[int]:
        """The token ids the model runs for one (query, passage) pair."""
        passage = doc.full_text()
        if self.layout == "qwen3":
            return self._qwen3(query.text, passage)
        if self.layout == "mxbai":
            return self._mxbai(query.text, passage)
        return self._bge(query.text, passage)

    def prompt(self, query: Query, doc: Document) -> str:
        """The model input as text (for logs and tests; the ids are what runs)."""
        return self.backend.decode(self.input_ids(query, doc))

    def _qwen3(self, query: str, passage: str) -> list[int]:
        p = self._pieces
        instruction = self.instruction or self.template.text("default_instruction")
        body = self.template.text("body", instruction=instruction, query=query, passage=passage)
        budget = min(self.max_length, self.backend.max_context) - len(p["prefix"]) \
            - len(p["suffix"])
        if budget < 1:
            raise InputError(f"max_length {self.max_length} leaves no room for the query.",
                             fix="use a larger max_length.")
        with_special = self.backend.encode(body, add_special_tokens=True)
        plain = self._ids(body)
        lead = len(with_special) - len(plain) if with_special[-len(plain):] == plain else 0
        ids = with_special[:lead] + plain[:max(0, budget - lead)]
        return p["prefix"] + ids + p["suffix"]

    def _mxbai(self, query: str, passage: str) -> list[int]:
        p, t = self._pieces, self.template
        fixed = len(p["prefix"]) + len(p["task"]) + len(p["suffix"]) + len(p["sep"])
        model_max = self.backend.max_context
        max_length = min(self.max_length, model_max - fixed)
        text = t.text("query", query=query)
        if self.instruction:
            text = t.text("instruction", instruction=self.instruction) + t.text("sep") + text
        q = self._ids(text)[:max_length * 3 // 4]
        d = self._ids(t.text("document", passage=passage))[:min(model_max - len(q) - fixed,
                                                                 max_length)]
        pair = q + cut_second(q, p["sep"] + d, max_length)
        return p["prefix"] + pair + p["sep"] + p["task"] + p["suffix"]

    def _bge(self, query: str, passage: str) -> list[int]:
        p, t = self._pieces, self.template
        task = self._ids(self.instruction) if self.instruction else p["task"]
        q = self._ids(t.text("query", query=query))[:self.max_length * 3 // 4]
        d = self._ids(t.text("passage", passage=passage))[:self.max_length]
        tok = getattr(self.backend, "tokenizer", None)
        bos = getattr(tok, "bos_token_id", None)
        # FlagLLMReranker adds the BOS unless it is also the padding token; the layerwise
        # reranker always adds it
        always = self._heads is not None
        first = ([bos] + q) if bos is not None and (always or bos != getattr(
            tok, "pad_token_id", None)) else q
        second = cut_second(first, p["sep"] + d, self.max_length + len(p["sep"]) + len(task))
        return first + second + p["sep"] + task

    # -- scoring -------------------------------------------------------------------------------
    def score_ids(self, prompts: Sequence[Sequence[int]]) -> np.ndarray:
        """One score per token-id prompt (float64), by the format's score rule."""
        if self.cutoff_layers is not None:
            return self._layers.true_logits(prompts, self.true_id)
        ids = [self.true_id] + ([self.false_id] if self.false_id is not None else [])
        logits = self.backend.next_token_logits(prompts, ids).logits.astype(np.float64)
        if self.score_rule == "true_logit":
            return logits[:, 0]
        diff = logits[:, 0] - logits[:, 1]
        if self.score_rule == "logit_difference":
            return diff
        return 1.0 / (1.0 + np.exp(-diff))

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        pairs = [(it, d) for it in items for d in it.documents]
        prompts = [self.input_ids(it.query, d) for it, d in pairs]
        scores = self.score_ids(prompts)
        self._count(model_calls=1, prompts=len(prompts), forward_passes=len(prompts),
                    input_tokens=sum(len(p) for p in prompts))
        if self.log_path is not None:
            self._log([{"qid": it.query.id, "doc_id": d.id, "prompt": self.backend.decode(p),
                        "input_tokens": len(p), "score": float(s), "output_tokens": 0}
                       for (it, d), p, s in zip(pairs, prompts, scores, strict=True)])
        return split_per_query(items, scores)
