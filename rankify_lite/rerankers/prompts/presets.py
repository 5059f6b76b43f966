"""Which prompt preset a model gets: an explicit table of model ids, per family.

A preset is a packaged template in ``rerankers/prompts/`` (see :mod:`prompts.templates`). Models that
were trained on a reference prompt get exactly that prompt; the table is matched on the full
model id (never a substring). Any other model gets the family's documented default, and
``config()["prompt"]["source"]`` says which rule applied ("explicit", "model table" or
"family default").

==========================================  ==================  ====================
model id                                    ``first``           ``listwise``
==========================================  ==================  ====================
castorini/first_mistral                     rank_zephyr_alpha   rank_zephyr_alpha
castorini/rank_zephyr_7b_v1_full            rank_zephyr_alpha   rank_zephyr
castorini/rank_vicuna_7b_v1                 --                  rank_vicuna
castorini/rank_vicuna_7b_v1_fp16            --                  rank_vicuna
castorini/rank_vicuna_7b_v1_noda            --                  rank_vicuna
castorini/rank_vicuna_7b_v1_noda_fp16       --                  rank_vicuna
(any other model)                           rank_zephyr_alpha   rank_zephyr
==========================================  ==================  ====================

FIRST reads one identifier token, so it always uses letters (rank_llm's ``use_alpha=True``);
generation listwise defaults to numbers [1]..[20], as rank_llm's ``RankListwiseOSLLM`` does,
except for FIRST's own model, trained on letters. RankGPT's multi-turn prompt (``rank_gpt``)
is chosen by name. Pointwise uses ``yes_no_relevance`` (rank_llm has no yes/no pointwise).
``reasonrank`` uses ``reasonrank`` (rank_llm's ReasonRank template) for every model;
rank_llm 0.25.7's thinking template ``qwen_thinking`` is chosen by name.
``dear-l`` uses ``dear_listwise`` (DeAR's listwise chain-of-thought prompt) for every model.
``causal-lm`` maps Qwen/Qwen3-Reranker-{0.6B,4B,8B} to ``qwen3_reranker``,
mixedbread-ai/mxbai-rerank-{base,large}-v2 to ``mxbai_rerank_v2`` and
BAAI/bge-reranker-v2-gemma / -minicpm-layerwise to ``bge_reranker_llm``; any other model gets
``qwen3_reranker``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rankify_lite.rerankers.prompts.templates import PromptTemplate, load_prompt

MODEL_PRESETS: dict[str, dict[str, str]] = {
    "first": {
        "castorini/first_mistral": "rank_zephyr_alpha",
        "castorini/rank_zephyr_7b_v1_full": "rank_zephyr_alpha",
    },
    "listwise": {
        "castorini/first_mistral": "rank_zephyr_alpha",
        "castorini/rank_zephyr_7b_v1_full": "rank_zephyr",
        "castorini/rank_vicuna_7b_v1": "rank_vicuna",
        "castorini/rank_vicuna_7b_v1_fp16": "rank_vicuna",
        "castorini/rank_vicuna_7b_v1_noda": "rank_vicuna",
        "castorini/rank_vicuna_7b_v1_noda_fp16": "rank_vicuna",
    },
    "causal-lm": {
        "Qwen/Qwen3-Reranker-0.6B": "qwen3_reranker",
        "Qwen/Qwen3-Reranker-4B": "qwen3_reranker",
        "Qwen/Qwen3-Reranker-8B": "qwen3_reranker",
        "mixedbread-ai/mxbai-rerank-base-v2": "mxbai_rerank_v2",
        "mixedbread-ai/mxbai-rerank-large-v2": "mxbai_rerank_v2",
        "BAAI/bge-reranker-v2-gemma": "bge_reranker_llm",
        "BAAI/bge-reranker-v2-minicpm-layerwise": "bge_reranker_llm",
    },
}

FAMILY_DEFAULTS: dict[str, str] = {
    "first": "rank_zephyr_alpha",
    "listwise": "rank_zephyr",
    "pointwise": "yes_no_relevance",
    "causal-lm": "qwen3_reranker",
    "reasonrank": "reasonrank",
    "dear-l": "dear_listwise",
}


def preset_for(family: str, model_id: str) -> tuple[str, str]:
    """(preset name, rule) for a model id: the table entry, else the family default."""
    table = MODEL_PRESETS.get(family, {})
    if model_id in table:
        return table[model_id], "model table"
    return FAMILY_DEFAULTS[family], "family default"


def resolve_prompt(family: str, model_id: str, prompt: str | Path | None,
                   required: tuple[str, ...] = ()) -> tuple[PromptTemplate, str]:
    """The template a reranker uses and the rule that chose it."""
    if prompt is not None:
        return load_prompt(prompt, required=required), "explicit"
    name, rule = preset_for(family, model_id)
    return load_prompt(name, required=required), rule


def describe(template: PromptTemplate, rule: str) -> dict[str, Any]:
    """What goes into ``config()["prompt"]``: name, version, sha256 and the rule."""
    return {**template.describe(), "source": rule}
