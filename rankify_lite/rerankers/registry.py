"""The reranker registry: explicit family keys -> lazily imported classes.

Keys are explicit names; a model id never selects a family by substring. Adding a family:

1. one new file, e.g. ``rankify_lite/rerankers/families/my_family.py``, with one class that subclasses
   :class:`~rankify_lite.rerankers.base.Reranker` and implements ``config()`` and
   ``_rerank_batch(items)`` (heavy imports inside methods, not at module level);
2. one line at the bottom of this module::

       register("my-family", "rankify_lite.rerankers.families.my_family:MyReranker", extra="rerank",
                requires=("torch",), default_model="org/name", description="...")

The options a family takes are read from its constructor's signature (and, through
``**kwargs``, its base classes'), never listed twice. Then ``load_reranker("my-family",
model=...)`` builds it (unknown options are refused before anything loads) and
``rankify-lite rerankers`` lists it (:func:`describe_families`), as unavailable with its
``pip install`` line when ``requires`` is not importable.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from rankify_lite.errors import MissingDependencyError
from rankify_lite.registry import Registry, import_target
from rankify_lite.rerankers.base import Reranker
from rankify_lite.ties import check_rule, with_ties


@dataclass(frozen=True)
class FamilyInfo:
    key: str
    target: str                   # "module:Class", imported on first use
    extra: str | None             # pip extra that provides the dependencies
    requires: tuple[str, ...]     # top-level modules that must be importable
    default_model: str | None
    description: str

    def cls(self) -> type:
        """The family's class (its module imports no heavy dependency at import time). The
        key is declared once, here; the class must carry the same ``family``."""
        klass = import_target(self.target)
        if getattr(klass, "family", self.key) != self.key:
            raise TypeError(f"reranker family {self.key!r} is registered for {self.target}, "
                            f"whose family is {klass.family!r}: make them equal.")
        own = getattr(klass, "default_model", None)
        if own and self.default_model and own != self.default_model:
            raise TypeError(f"reranker family {self.key!r}: the registry's default model "
                            f"{self.default_model!r} differs from {self.target}'s {own!r}.")
        return klass

    @property
    def options(self) -> tuple[str, ...]:
        """Every keyword option the family accepts, from the signatures (see options_of)."""
        return options_of(self.cls())

    def missing(self) -> list[str]:
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    @property
    def available(self) -> bool:
        return not self.missing()

    @property
    def install_hint(self) -> str:
        return f"pip install 'rankify-lite[{self.extra}]'" if self.extra else ""


#: family key -> FamilyInfo (rankify_lite.registry: one type for every registry)
_REGISTRY: Registry[FamilyInfo] = Registry("reranker family", sort=True,
                                           listing=" (list them with 'rankify-lite rerankers')")


def options_of(cls: type) -> tuple[str, ...]:
    """The keyword options of ``cls``: its ``__init__``'s, then, while an ``__init__`` passes
    ``**kwargs`` on, its base classes'; a final ``**engine_options`` (the LLM base class) adds
    the options of every LLM engine (each engine checks its own when it is built)."""
    from rankify_lite.file_policy import option_sources
    from rankify_lite.spec import signature_options

    out: list[str] = []
    for source in option_sources(cls):
        names = signature_options(source) if isinstance(source, type) else tuple(source)
        out += [o for o in names if o not in out]
    return tuple(out)


def register(key: str, target: str, *, extra: str | None = None, requires: tuple[str, ...] = (),
             default_model: str | None = None, description: str = "") -> None:
    _REGISTRY.register(key, FamilyInfo(key, target, extra, requires, default_model, description))


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
                     "options": [] if missing else list(info.options), "description": info.description})
    return rows


def family_info(key: str) -> FamilyInfo:
    """The registered family ``key``; an unknown key is refused with close names and the list."""
    return _REGISTRY.lookup(key)


def load_reranker(family: str, model: str | None = None, *, name: str | None = None,
                  **options: Any) -> Reranker:
    """Build a reranker: ``load_reranker("cross-encoder", model="org/name", batch_size=64)``.

    ``model`` defaults to the family's default model; ``options`` go to the family's class.
    ``name``: the stage name in a pipeline (default: derived, see pipeline/naming.py).
    """
    if name is not None:  # a bad name is refused before the model loads
        from rankify_lite.names import check_name

        check_name(name, "the stage name", example="load_reranker(..., name='ce-l12')")
    reranker = _build(family, model, options)
    return reranker.named(name) if name is not None else reranker


def _build(family: str, model: str | None, options: dict[str, Any]) -> Reranker:
    info = family_info(family)
    missing = info.missing()
    if missing:
        raise MissingDependencyError(missing[0], info.extra or "all", f"reranker {family!r}")
    cls = info.cls()
    # every family: the tie rule its stages take by default (ties.py); refused before building
    ties = options.pop("ties", None)
    if ties is not None:
        check_rule(ties)
    if model is not None:
        options["model"] = model
    elif info.default_model and "model" not in options:
        options["model"] = info.default_model
    from rankify_lite.spec import check_options

    check_options(cls, options, f"reranker family {family!r}", extra=info.options)
    reranker = cls(**options)
    return reranker if ties is None else with_ties(reranker, ties)


# ---- the families (one line each) ------------------------------------------------------------
register("identity", "rankify_lite.rerankers.families.identity:IdentityReranker",
         description="keeps the first-stage order (baseline)")
register("cross-encoder", "rankify_lite.rerankers.families.cross_encoder:CrossEncoderReranker",
         extra="rerank", requires=("torch", "transformers"),
         default_model="cross-encoder/ms-marco-MiniLM-L6-v2",
         description="Hugging Face sequence-classification ranker scoring (query, passage) pairs")
register("bi-encoder", "rankify_lite.rerankers.families.bi_encoder:BiEncoderReranker",
         extra="dense", requires=("torch", "transformers"),
         default_model="sentence-transformers/all-MiniLM-L6-v2",
         description="dense encoder: cosine / dot product of query and passage embeddings")
register("colbert", "rankify_lite.rerankers.families.colbert:ColBERTReranker",
         extra="dense", requires=("torch", "transformers"),
         default_model="answerdotai/answerai-colbert-small-v1",
         description="ColBERT late interaction: MaxSim over token embeddings (markers, query "
                     "augmentation, projection; PyLate / Stanford checkpoints); passages cached")
register("first", "rankify_lite.rerankers.families.first:FirstReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="castorini/first_mistral",
         description="FIRST: listwise LLM, one forward pass per window, reads first-token "
                     "logits (rank_llm prompts, token for token)")
register("listwise", "rankify_lite.rerankers.families.listwise:ListwiseReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="castorini/rank_zephyr_7b_v1_full",
         description="listwise LLM generating the full permutation ([2] > [1] > ...; "
                     "rank_llm prompts: RankZephyr, RankVicuna, RankGPT presets)")
register("pointwise", "rankify_lite.rerankers.families.pointwise:PointwiseReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="HuggingFaceTB/SmolLM2-135M-Instruct",
         description="pointwise LLM relevance: log P(yes) normalised over {yes, no}")
register("icr", "rankify_lite.rerankers.families.icr:ICRReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="HuggingFaceTB/SmolLM2-135M-Instruct",
         description="ICR: attention from the query to each in-context document, N/A-calibrated "
                     "(2 forward passes per query; transformers, eager attention)")
register("pairwise", "rankify_lite.rerankers.families.pairwise:PairwiseReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="HuggingFaceTB/SmolLM2-135M-Instruct",
         description="PRP pairwise: 'Passage A or B?' from single-token logits, both orders; "
                     "sliding top-k bubble passes or all pairs")
register("monot5", "rankify_lite.rerankers.families.monot5:MonoT5Reranker",
         extra="rerank", requires=("torch", "transformers"),
         default_model="castorini/monot5-base-msmarco-10k",
         description="monoT5 seq2seq pointwise: P(true) vs false at the first decoder step")
register("setwise", "rankify_lite.rerankers.families.setwise:SetwiseReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="HuggingFaceTB/SmolLM2-135M-Instruct",
         description="Setwise: 'which of Passage A/B/C/D is most relevant?', heapsort or "
                     "bubblesort to the top k; generation or label likelihood; causal LMs and T5")
register("rank-r1", "rankify_lite.rerankers.families.rank_r1:RankR1Reranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="ielabgroup/Rank-R1-7B-v0.1",
         description="Rank-R1 setwise reasoning: heapsort over sets of 20 shuffled passages, "
                     "think within reasoning_token_budget, read <answer>[k]</answer> (LoRA on "
                     "Qwen2.5-Instruct; malformed counted, forced close on budget)")
register("rank1", "rankify_lite.rerankers.families.rank1:Rank1Reranker",
         extra="llm", requires=("torch", "transformers"), default_model="jhu-clsp/rank1-7b",
         description="Rank1 pointwise reasoning: think within reasoning_token_budget, close the "
                     "block (forced when the budget runs out), read true/false logits")
register("reasonrank", "rankify_lite.rerankers.families.reasonrank:ReasonRankReranker",
         extra="llm", requires=("torch", "transformers"), default_model="liuwenhan/reasonrank-7B",
         description="ReasonRank listwise reasoning: think, then write the permutation "
                     "(rank_llm's ReasonRank / thinking templates; forced close on budget)")
register("causal-lm", "rankify_lite.rerankers.families.causal_lm:CausalLMReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="Qwen/Qwen3-Reranker-0.6B",
         description="causal-LM pointwise rerankers in their own formats (presets): "
                     "Qwen3-Reranker, mxbai-rerank-v2, bge-reranker-v2-gemma / layerwise "
                     "(cutoff_layers); score from the last position's answer-token logits")
register("duot5", "rankify_lite.rerankers.families.duot5:DuoT5Reranker",
         extra="rerank", requires=("torch", "transformers"),
         default_model="castorini/duot5-base-msmarco",
         description="duoT5 seq2seq pairwise: P(Document0 better than Document1), summed over "
                     "the pairs of the top k (rank_llm's aggregation, or sym-sum); after monoT5")
register("rankllama", "rankify_lite.rerankers.families.llm_classifier:RankLLaMAReranker",
         extra="rerank", requires=("torch", "transformers"),
         default_model="castorini/rankllama-v1-7b-lora-passage",
         description="RankLLaMA pointwise: Llama sequence classifier over 'query: ...' / "
                     "'document: {title} {passage}' (Tevatron's ids), logit at the last token")
register("dear-p", "rankify_lite.rerankers.families.llm_classifier:DeArPointwiseReranker",
         extra="rerank", requires=("torch", "transformers"),
         default_model="abdoelsayed/dear-8b-reranker-ce-v1",
         description="DeAR-P pointwise: Llama-3 sequence classifier in DeAR's pair format "
                     "(LoRA or merged checkpoints); first stage of the DeAR cascade")
register("dear-l", "rankify_lite.rerankers.families.dear:DeArListwiseReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="abdoelsayed/dear-8b-reranker-listwise-v1",
         description="DeAR-L listwise chain of thought: DeAR's multi-turn prompt, reason then "
                     "rank, every number after </think> an id; after dear-p in the cascade")
register("erank", "rankify_lite.rerankers.families.erank:ERankReranker",
         extra="llm", requires=("torch", "transformers"), default_model="Alibaba-NLP/ERank-4B",
         description="ERank pointwise reasoning: think within reasoning_token_budget (forced "
                     "close), write an integer 0-10; score = s * Pr(s) at the answer position")
register("grouprank", "rankify_lite.rerankers.families.grouprank:GroupRankReranker",
         extra="llm", requires=("torch", "transformers"),
         default_model="AQ-MedAI/Diver-GroupRank-7B",
         description="GroupRank groupwise: one prompt per shuffled group of candidates, JSON "
                     "scores per document parsed (malformed groups score 0), mean over groups")
