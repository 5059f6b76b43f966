"""Pointwise LLM sequence classifiers: RankLLaMA and DeAR-P, each in its authors' input format.

A decoder LLM with a one-label classification head (``AutoModelForSequenceClassification``,
``num_labels=1``: a linear score on the hidden state of the last non-pad token, as
``LlamaForSequenceClassification`` reads it) scores ``query: {query}`` / ``document: {title}
{text}``. The preset (a YAML file in ``rerankers/prompts/``, hashed into ``config()``) says how
the pair becomes token ids, because the two references differ:

* ``rankllama`` (``load_reranker("rankllama")``; castorini/rankllama-v1-7b-lora-passage):
  query and document tokenised apart and cut to 32 / 164 tokens, joined with the tokenizer's pair
  special tokens, then cut from the query to 196 (Tevatron's released inference code);
* ``dear_pointwise`` (``load_reranker("dear-p")``; abdoelsayed/dear-*-reranker-*): the pair
  tokenised in one call with ``longest_first`` truncation to 228 tokens (DeAR's
  ``simple_rerank.py``).

Both pad on the right with the end-of-sequence token when the tokenizer has no pad token (both
references do) and set the model config's ``pad_token_id`` to it. A folder or hub id holding
``adapter_config.json`` (RankLLaMA and the DeAR ``-lora`` checkpoints are LoRA adapters) loads
its base as a one-label classifier and merges the adapter (:mod:`rankify_lite.models.adapters`;
``base_model=`` overrides the adapter config's base); ``config()`` records both. A plain causal
LM (e.g. SmolLM2) loads with an untrained score head (drawn from seed 0, so reruns agree;
``config()["score_head"]`` says so): that measures shape and cost, never quality. Scores are
raw logits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.file_policy import FileOptions
from rankify_lite.models import loader
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored
from rankify_lite.rerankers.families._scoring import split_per_query
from rankify_lite.rerankers.prompts.presets import describe
from rankify_lite.rerankers.prompts.templates import load_prompt
from rankify_lite.types import Document

log = logging.getLogger(__name__)

REQUIRED = ("query", "document", "encoding", "max_length")
ENCODINGS = ("separate", "pair")


class LLMClassifierReranker(Reranker):
    """A one-label LLM classifier over (query, document) in a preset's format (see module)."""

    family: ClassVar[str] = ""
    default_model: ClassVar[str] = ""
    default_prompt: ClassVar[str] = ""
    max_pairs_per_call = 4096

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model", "prompt", "batch_size", "device", "dtype",
                                      "revision", "base_model", "max_length"))

    def __init__(self, model: str | None = None, *, prompt: str | Path | None = None,
                 batch_size: int = 16, device: str | None = None, dtype: str | None = None,
                 revision: str | None = None, base_model: str | None = None,
                 max_length: int | None = None) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}.", fix="pass e.g. 16.")
        self.template = load_prompt(prompt or self.default_prompt, required=REQUIRED)
        self.prompt_rule = "explicit" if prompt is not None else "family default"
        self.encoding = str(self.template.get("encoding"))
        if self.encoding not in ENCODINGS:
            raise InputError(f"prompt template {self.template.name!r}: encoding must be one of "
                             f"{ENCODINGS}, not {self.encoding!r}.", path=self.template.path,
                             fix="write 'encoding: pair' (one pair tokenizer call) or "
                                 "'encoding: separate' (query and document cut apart).")
        self.max_length = int(max_length if max_length is not None
                              else self.template.get("max_length"))
        if self.max_length < 2:
            raise InputError(f"max_length must be >= 2, got {self.max_length}.",
                             fix="pass e.g. max_length=196, or leave it to the preset.")
        self.batch_size = int(batch_size)
        self.model_name = str(model or self.default_model)
        #: counters the driver sums into ``llm_stats``: one prompt (sequence) per pair
        self.stats: dict[str, int] = {"prompts": 0, "model_calls": 0, "input_tokens": 0}
        self._load(self.model_name, revision, device, dtype, base_model)

    # ---- loading ---------------------------------------------------------------------------
    def _load(self, model: str, revision: str | None, device: str | None, dtype: str | None,
              base_model: str | None) -> None:
        torch = require("torch", extra="rerank", feature=f"the {self.family} reranker")
        transformers = require("transformers", extra="rerank",
                               feature=f"the {self.family} reranker")
        from rankify_lite.models import adapters

        self.device = loader.pick_device(device)
        self.dtype = loader.pick_dtype(dtype, self.device)
        self.adapter = adapters.find(model, revision, base_model)
        auto = transformers.AutoModelForSequenceClassification
        if self.adapter is None:
            self.tokenizer = loader.from_pretrained(transformers.AutoTokenizer, model, revision)
            source, source_rev = model, revision
            self.revision = loader.resolved_revision(model, revision)
        else:
            adapters.require_peft()
            self.tokenizer = adapters.load_tokenizer(self.adapter, transformers.AutoTokenizer)
            source, source_rev = self.adapter.base_model, self.adapter.base_revision
            self.revision = self.adapter.revision
        # one label, as both references load their bases (a saved one-label head is unchanged);
        # a model without a head (a plain causal LM) gets one drawn from seed 0, so reruns agree
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net, info = loader.from_pretrained(auto, source, source_rev, num_labels=1,
                                               dtype=self.dtype, output_loading_info=True)
        fresh = [k for k in info.get("missing_keys", ()) if k.split(".")[0] in ("score",)]
        self.untrained_head = bool(fresh) and self.adapter is None
        if self.untrained_head:
            log.warning("%s has no classification head: scores come from an untrained one "
                        "(seed 0); they measure cost, not quality", model)
        if self.adapter is not None:
            net = adapters.merge(net.to(self.device), self.adapter)
        self.model = net.to(self.device).eval()
        tok = self.tokenizer
        if getattr(tok, "backend_tokenizer", None) is None:
            raise InputError(f"the tokenizer of {model!r} is not a fast (tokenizers) tokenizer.",
                             fix="save the model with a tokenizer.json (a fast tokenizer).")
        pad = self.model.config.pad_token_id
        if pad is None:
            pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        if pad is None:
            raise InputError(f"the tokenizer of {model!r} has neither a pad nor an eos token.",
                             fix="use a tokenizer with an end-of-sequence token.")
        self.model.config.pad_token_id = self.pad_id = int(pad)
        self._torch = torch

    def config(self) -> dict[str, Any]:
        from rankify_lite.models.adapters import provenance

        return {"family": self.family, "model": self.model_name, "revision": self.revision,
                **provenance(self.adapter), "prompt": describe(self.template, self.prompt_rule),
                "encoding": self.encoding, "max_length": self.max_length,
                "pad_token_id": self.pad_id, "dtype": loader.dtype_name(self.dtype),
                **({"score_head": "untrained (seed 0)"} if self.untrained_head else {})}

    # ---- text -> ids -----------------------------------------------------------------------
    def texts(self, query: str, doc: Document) -> tuple[str, str]:
        """The (query, document) texts of one pair, as the preset writes them."""
        return (self.template.text("query", query=query),
                self.template.text("document", title=doc.title or "", text=doc.text))

    def input_ids(self, queries: Sequence[str], docs: Sequence[str]) -> list[list[int]]:
        """The token ids of each pair (unpadded), as the preset's reference builds them."""
        tok = self.tokenizer
        if self.encoding == "pair":
            enc = tok(list(queries), list(docs), truncation="longest_first",
                      max_length=self.max_length, padding=False, return_attention_mask=False,
                      return_token_type_ids=False)
            return [list(x) for x in enc["input_ids"]]
        backend = tok.backend_tokenizer
        q_cap = int(self.template.get("query_tokens"))
        d_cap = int(self.template.get("passage_tokens"))
        specials = tok.num_special_tokens_to_add(pair=True)
        out = []
        for q_text, d_text in zip(queries, docs, strict=True):
            q = backend.encode(q_text, add_special_tokens=False)
            d = backend.encode(d_text, add_special_tokens=False)
            q.truncate(q_cap)
            d.truncate(d_cap)
            # prepare_for_model(q, d, truncation='only_first'): the query gives way; when it
            # cannot (the overflow is not shorter than it) the pair stays whole, as there
            over = len(q.ids) + len(d.ids) + specials - self.max_length
            if 0 < over < len(q.ids):
                q.truncate(len(q.ids) - over)
            out.append(list(backend.post_process(q, d, add_special_tokens=True).ids))
        return out

    # ---- scoring ---------------------------------------------------------------------------
    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        pairs = [self.texts(it.query.text, d) for it in items for d in it.documents]
        return split_per_query(items, self.score_ids(self.input_ids(
            [p[0] for p in pairs], [p[1] for p in pairs])))

    def score_ids(self, ids: Sequence[Sequence[int]]) -> np.ndarray:
        """One logit per id list, in input order; batches of similar length, right-padded."""
        torch = self._torch
        scores = np.zeros(len(ids), dtype=np.float64)
        order = sorted(range(len(ids)), key=lambda k: -len(ids[k]))
        for lo in range(0, len(order), self.batch_size):
            rows = order[lo:lo + self.batch_size]
            width = max(len(ids[k]) for k in rows)
            batch = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, k in enumerate(rows):
                batch[r, :len(ids[k])] = torch.tensor(ids[k], dtype=torch.long)
                mask[r, :len(ids[k])] = 1
            with torch.inference_mode():
                out = self.model(input_ids=batch.to(self.device),
                                 attention_mask=mask.to(self.device)).logits
            scores[rows] = out[:, 0].float().cpu().numpy()
            self.stats["model_calls"] += 1
        self.stats["prompts"] += len(ids)
        self.stats["input_tokens"] += sum(len(x) for x in ids)
        return scores


class RankLLaMAReranker(LLMClassifierReranker):
    """``load_reranker("rankllama")``: RankLLaMA (Tevatron's format, preset ``rankllama``)."""

    family = "rankllama"
    default_model = "castorini/rankllama-v1-7b-lora-passage"
    default_prompt = "rankllama"


class DeArPointwiseReranker(LLMClassifierReranker):
    """``load_reranker("dear-p")``: DeAR-P (DeAR's format, preset ``dear_pointwise``)."""

    family = "dear-p"
    default_model = "abdoelsayed/dear-8b-reranker-ce-v1"
    default_prompt = "dear_pointwise"
