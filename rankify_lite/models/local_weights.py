"""Whether a model's weights are on this machine, asked without the network and without loading.

``rankify-lite rerankers`` says for each family's default model whether it would load here
offline: a local folder holding a config and a weights file, or a hub id whose snapshot in the
local Hugging Face cache holds them (``huggingface_hub.try_to_load_from_cache``: a look at the
cache's files, no request). A model found nowhere downloads on first use when the network is
allowed, and is refused (with the fix) when it is not.
"""

from __future__ import annotations

import os
from pathlib import Path

#: suffixes of the files a model's weights come in (the loader's list)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".onnx", ".h5", ".msgpack")


def hub_offline() -> bool:
    """Whether the Hugging Face hub is off limits (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    return any(os.environ.get(v, "0").lower() in ("1", "true", "yes")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(
        p.suffix in WEIGHT_SUFFIXES and p.is_file() for p in folder.iterdir())


def weights_here(model: str, revision: str | None = None,
                 cache_dir: str | os.PathLike | None = None) -> str | None:
    """``"folder"`` (a local folder with config and weights), ``"cache"`` (a complete snapshot in
    the Hugging Face cache, ``cache_dir`` or the default one), or None (not on this machine)."""
    if os.path.isdir(model):
        return "folder" if _has_weights(Path(model)) else None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return None
    try:
        config = try_to_load_from_cache(model, "config.json", cache_dir=cache_dir,
                                        revision=revision)
    except ValueError:  # not a hub id (e.g. a path that does not exist)
        return None
    if not isinstance(config, str):
        return None
    return "cache" if _has_weights(Path(config).parent) else None


__all__ = ["WEIGHT_SUFFIXES", "hub_offline", "weights_here"]
