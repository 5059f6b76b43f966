"""bge-reranker-v2-minicpm-layerwise checkpoints without remote code.

The checkpoint's architecture (FlagEmbedding 1.4.2, ``LayerWiseMiniCPMForCausalLM``,
``head_type="simple"``) is a Llama-shaped decoder with MiniCPM's scalings: embeddings times
``scale_emb``, each residual branch times ``scale_depth / sqrt(num_hidden_layers)``, attention
scaled by ``1 / sqrt(head_dim)``, and one score head per layer ``k`` from ``start_layer`` to
``num_hidden_layers`` reading ``norm(h_k)`` (the ``simple`` heads are not divided by
``hidden_size / dim_model_base``, unlike MiniCPM's LM head). Those scalings are exactly knobs of
transformers' Granite architecture (``embedding_multiplier``, ``residual_multiplier``,
``attention_multiplier``; ``logits_scaling`` stays 1), so the decoder is built
as a ``GraniteForCausalLM`` from the checkpoint's own config values, its ``model.*`` weights
loaded by name (the LM head tied to the embeddings: it is never used), and the per-layer heads
kept as vectors for :class:`~rankify_lite.rerankers.families.causal_lm_layers.LayerScorer`. Proven equal
to FlagEmbedding's own class on a tiny checkpoint (``tests/rerankers/families/test_minicpm_layerwise.py``).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError

LAYERWISE_KEYS = ("head_type", "start_layer", "scale_depth", "dim_model_base")


def _config_path(model: str, revision: str | None) -> Path | None:
    if os.path.isdir(model):
        path = Path(model) / "config.json"
        return path if path.is_file() else None
    from rankify_lite.models import loader

    found = loader.model_file(model, "config.json", revision)
    return Path(found) if found else None


def layerwise_config(model: Any, revision: str | None = None) -> dict[str, Any] | None:
    """The checkpoint's config when ``model`` is a minicpm-layerwise checkpoint, else None."""
    if not isinstance(model, str | os.PathLike):
        return None
    path = _config_path(str(model), revision)
    if path is None:
        return None
    cfg = json.loads(path.read_text())
    if cfg.get("model_type") != "minicpm" or not all(k in cfg for k in LAYERWISE_KEYS):
        return None
    return {**cfg, "_folder": str(path.parent)}


def _state_dict(folder: Path) -> dict[str, Any]:
    files = sorted(folder.glob("*.safetensors"))
    if files:
        from safetensors.torch import load_file

        out: dict[str, Any] = {}
        for f in files:
            out.update(load_file(str(f)))
        return out
    import torch

    bins = sorted(folder.glob("pytorch_model*.bin"))
    if not bins:
        raise InputError(f"no weights (*.safetensors, pytorch_model*.bin) in {folder}.",
                         fix="download the checkpoint again.")
    out = {}
    for f in bins:
        out.update(torch.load(str(f), map_location="cpu", weights_only=True))
    return out


def load_layerwise(cfg: dict[str, Any]) -> tuple[Any, dict[int, Any]]:
    """(a ``GraniteForCausalLM`` equal to the checkpoint's decoder, {layer k: head weight row})."""
    import transformers

    if cfg.get("head_type") != "simple" or cfg.get("pretraining_tp", 1) != 1:
        raise InputError(f"head_type={cfg.get('head_type')!r}, pretraining_tp="
                         f"{cfg.get('pretraining_tp', 1)}: only the released layout (simple "
                         "per-layer score heads, pretraining_tp=1) is supported.",
                         path=Path(cfg["_folder"]) / "config.json",
                         fix="use BAAI/bge-reranker-v2-minicpm-layerwise.")
    if cfg.get("rope_scaling") or (cfg.get("rope_parameters") or {}).get("rope_type",
                                                                          "default") != "default":
        raise InputError("rope scaling is not supported for this checkpoint.",
                         path=Path(cfg["_folder"]) / "config.json", fix="remove rope_scaling.")
    n, hidden, heads = cfg["num_hidden_layers"], cfg["hidden_size"], cfg["num_attention_heads"]
    theta = cfg.get("rope_theta") or (cfg.get("rope_parameters") or {}).get("rope_theta", 1e4)
    granite = transformers.GraniteConfig(
        vocab_size=cfg["vocab_size"], hidden_size=hidden,
        intermediate_size=cfg["intermediate_size"], num_hidden_layers=n,
        num_attention_heads=heads, num_key_value_heads=cfg.get("num_key_value_heads") or heads,
        hidden_act=cfg.get("hidden_act", "silu"),
        max_position_embeddings=cfg.get("max_position_embeddings", 2048),
        rms_norm_eps=cfg.get("rms_norm_eps", 1e-6), attention_bias=cfg.get("attention_bias",
                                                                           False),
        rope_parameters={"rope_type": "default", "rope_theta": float(theta)},
        bos_token_id=cfg.get("bos_token_id"), eos_token_id=cfg.get("eos_token_id"),
        pad_token_id=cfg.get("pad_token_id"), tie_word_embeddings=True,
        embedding_multiplier=float(cfg.get("scale_emb", 1)),
        residual_multiplier=float(cfg["scale_depth"]) / math.sqrt(n),
        attention_multiplier=(hidden // heads) ** -0.5, logits_scaling=1.0)
    model = transformers.GraniteForCausalLM(granite)
    state = _state_dict(Path(cfg["_folder"]))
    decoder = {k: v for k, v in state.items() if k.startswith("model.")}
    result = model.load_state_dict(decoder, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith("lm_head")]
    if missing or result.unexpected_keys:
        raise InputError(f"the checkpoint's weights do not match its config (missing "
                         f"{missing[:3]}, unexpected {result.unexpected_keys[:3]}).",
                         path=cfg["_folder"], fix="download the checkpoint again.")
    model.config._name_or_path = cfg["_folder"]
    start = int(cfg["start_layer"])
    if cfg.get("head_multi", True):
        rows = {start + i: state[f"lm_head.{i}.linear_head.weight"]
                for i in range(n + 1 - start)}
    else:
        rows = {k: state["lm_head.linear_head.weight"] for k in range(start, n + 1)}
    return model.eval(), rows
