"""The reranker registry: explicit family keys -> lazily imported classes.

Keys are explicit names; a model id never selects a family by substring. Adding a family:

1. one new file, e.g. ``rankify_lite/rerankers/my_family.py``, with one class that subclasses
   :class:`~rankify_lite.rerankers.base.Reranker` and implements ``config()`` and
   ``_rerank_batch(items)`` (heavy imports inside methods, not at module level);
2. one line at the bottom of this module::

       register("my-family", "rankify_lite.rerankers.my_family:MyReranker", extra="rerank",
                requires=("torch",), default_model="org/name", description="...",
                options=("model", "batch_size"))

Then ``load_reranker("my-family", model=...)`` builds it and ``rankify-lite rerankers`` lists it
(:func:`describe_families`), as unavailable with its ``pip install`` line when ``requires`` is
not importable.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from rankify_lite.errors import InputError, MissingDependencyError
from rankify_lite.rerankers.base import Reranker


@dataclass(frozen=True)
class FamilyInfo:
    key: str
    target: str                   # "module:Class", imported on first use
    extra: str | None             # pip extra that provides the dependencies
    requires: tuple[str, ...]     # top-level modules that must be importable
    default_model: str | None
    description: str
    options: tuple[str, ...] = ()

    def missing(self) -> list[str]:
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    @property
    def available(self) -> bool:
        return not self.missing()

    @property
    def install_hint(self) -> str:
        return f"pip install 'rankify-lite[{self.extra}]'" if self.extra else ""


_REGISTRY: dict[str, FamilyInfo] = {}


def register(key: str, target: str, *, extra: str | None = None, requires: tuple[str, ...] = (),
             default_model: str | None = None, description: str = "",
             options: tuple[str, ...] = ()) -> None:
    if key in _REGISTRY:
        raise ValueError(f"reranker family {key!r} is registered twice")
    _REGISTRY[key] = FamilyInfo(key, target, extra, requires, default_model, description, options)


def families() -> list[FamilyInfo]:
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def describe_families() -> list[dict[str, Any]]:
    """One row per family, for ``rankify-lite rerankers``: family, available, install (the
    ``pip install`` that makes it available, empty when it is), missing modules, default_model,
    options and description. Checks importability without importing anything heavy."""
    rows = []
    for info in families():
        missing = info.missing()
        install = ""
        if missing:
            install = info.install_hint or f"pip install {' '.join(missing)}"
        rows.append({"family": info.key, "available": not missing, "install": install,
                     "missing": missing, "default_model": info.default_model or "",
                     "options": list(info.options), "description": info.description})
    return rows


def family_info(key: str) -> FamilyInfo:
    if key not in _REGISTRY:
        import difflib

        close = difflib.get_close_matches(key, list(_REGISTRY), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise InputError(f"unknown reranker family {key!r}.{hint}",
                         fix=f"use one of: {', '.join(sorted(_REGISTRY))} "
                             "(list them with 'rankify-lite rerankers').")
    return _REGISTRY[key]


def load_reranker(family: str, model: str | None = None, **options: Any) -> Reranker:
    """Build a reranker: ``load_reranker("cross-encoder", model="org/name", batch_size=64)``.

    ``model`` defaults to the family's default model; ``options`` go to the family's class.
    """
    info = family_info(family)
    missing = info.missing()
    if missing:
        raise MissingDependencyError(missing[0], info.extra or "all", f"reranker {family!r}")
    module_name, cls_name = info.target.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    if model is not None:
        options["model"] = model
    elif info.default_model and "model" not in options:
        options["model"] = info.default_model
    return cls(**options)


#: options of the LLM families that choose and configure the engine (see rerankers/engines)
LLM_ENGINE_OPTIONS = ("engine", "base_url", "api_key_env", "concurrency", "timeout",
                      "max_retries", "tensor_parallel_size", "gpu_memory_utilization",
                      "max_model_len", "max_logprobs")


# ---- the families (one line each) ------------------------------------------------------------
register("identity", "rankify_lite.rerankers.identity:IdentityReranker",
         description="keeps the first-stage order (baseline)")
register("cross-encoder", "rankify_lite.rerankers.cross_encoder:CrossEncoderReranker",
         extra="rerank", requires=("torch", "transformers"),
         default_model="cross-encoder/ms-marco-MiniLM-L6-v2",
         description="Hugging Face sequence-classification ranker scoring (query, passage) pairs",
         options=("model", "batch_size", "max_tokens", "max_length", "activation", "device",
                  "dtype", "revision", "query_batch_size", "backend"))
register("bi-encoder", "rankify_lite.rerankers.bi_encoder:BiEncoderReranker",
         extra="dense", requires=("torch", "transformers"),
         default_model="sentence-transformers/all-MiniLM-L6-v2",
         description="dense encoder: cosine / dot product of query and passage embeddings",
         options=("model", "batch_size", "max_length", "pooling", "normalize", "query_prefix",
                  "doc_prefix", "device", "dtype", "revision", "query_batch_size", "backend"))
register("first", "rankify_lite.rerankers.first:FirstReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="castorini/first_mistral",
         description="FIRST: listwise LLM, one forward pass per window, reads first-token "
                     "logits (rank_llm prompts, token for token)",
         options=("model", "window_size", "stride", "top_window", "passage_words", "prompt",
                  "context_size", "clean_text", "bos", "device", "dtype", "revision",
                  "batch_size", "query_batch_size", "log_path") + LLM_ENGINE_OPTIONS)
register("listwise", "rankify_lite.rerankers.listwise:ListwiseReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="castorini/rank_zephyr_7b_v1_full",
         description="listwise LLM generating the full permutation ([2] > [1] > ...; "
                     "rank_llm prompts: RankZephyr, RankVicuna, RankGPT presets)",
         options=("model", "window_size", "stride", "top_window", "passage_words", "prompt",
                  "context_size", "clean_text", "bos", "max_new_tokens", "min_new_tokens",
                  "device", "dtype", "revision", "batch_size", "query_batch_size", "log_path")
         + LLM_ENGINE_OPTIONS)
register("pointwise", "rankify_lite.rerankers.pointwise:PointwiseReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="HuggingFaceTB/SmolLM2-135M-Instruct",
         description="pointwise LLM relevance: log P(yes) normalised over {yes, no}",
         options=("model", "batch_size", "passage_words", "prompt", "clean_text", "bos",
                  "device", "dtype", "revision", "query_batch_size", "log_path") + LLM_ENGINE_OPTIONS)
register("icr", "rankify_lite.rerankers.icr:ICRReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="HuggingFaceTB/SmolLM2-135M-Instruct",
         description="ICR: attention from the query to each in-context document, N/A-calibrated "
                     "(2 forward passes per query; transformers, eager attention)",
         options=("model", "passage_words", "reverse_order", "batch_size", "device", "dtype",
                  "revision"))
register("pairwise", "rankify_lite.rerankers.pairwise:PairwiseReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="HuggingFaceTB/SmolLM2-135M-Instruct",
         description="PRP pairwise: 'Passage A or B?' from single-token logits, both orders; "
                     "sliding top-k bubble passes or all pairs",
         options=("model", "method", "top_k", "aggregate", "passage_words", "batch_size",
                  "device", "dtype", "revision"))
register("monot5", "rankify_lite.rerankers.monot5:MonoT5Reranker",
         extra="rerank", requires=("torch", "transformers"),
         default_model="castorini/monot5-base-msmarco-10k",
         description="monoT5 seq2seq pointwise: P(true) vs false at the first decoder step",
         options=("model", "batch_size", "context_size", "device", "dtype", "revision"))
