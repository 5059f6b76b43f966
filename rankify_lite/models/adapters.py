"""PEFT adapters (LoRA and the other mergeable kinds) for every in-process transformers model.

A folder or hub id that holds ``adapter_config.json`` is an adapter, not a model: its base is
the adapter config's ``base_model_name_or_path`` (or the ``base_model=`` option, which wins),
loaded as any model is, then the adapter is applied with ``peft.PeftModel.from_pretrained`` and
merged into the base weights (``merge_and_unload``), so the result runs as fast as the base and
every family scores it unchanged. The tokenizer comes from the adapter when it ships one, else
from the base (``pip install 'rankify-lite[peft]'``).

Provenance: ``config()`` keeps ``model`` / ``revision`` for the adapter (its hub snapshot, or
for a local folder the fingerprint :func:`rankify_lite.models.loader.resolved_revision` gives),
and adds ``adapter`` (the PEFT type), ``base_model`` and ``base_revision`` (see
:func:`provenance`). Models without an adapter get none of these keys.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError, require

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json")
NO_BASE_FIX = ("pass base_model='<the base model id or folder>' (the model the adapter was "
               "trained on), or add base_model_name_or_path to its adapter_config.json.")


@dataclass(frozen=True)
class Adapter:
    """An adapter found at ``model``: where its files lie, its PEFT type, and its base."""

    model: str              # the adapter id or folder, as given
    folder: Path            # a local folder holding adapter_config.json and the weights
    revision: str | None    # resolved: hub snapshot or local fingerprint
    peft_type: str
    base_model: str
    base_revision: str | None  # as asked (the adapter config's "revision"), for loading
    has_tokenizer: bool
    base_resolved: str | None = None  # the base's snapshot or fingerprint, when found

    def provenance(self) -> dict[str, Any]:
        return {"adapter": self.peft_type, "base_model": self.base_model,
                "base_revision": self.base_resolved}


def provenance(adapter: Adapter | None) -> dict[str, Any]:
    """The keys a component's ``config()`` adds for an adapter model ({} for a plain one)."""
    return {} if adapter is None else adapter.provenance()


def _adapter_config_file(model: str, revision: str | None) -> Path | None:
    """``adapter_config.json`` of a folder or hub id, without a network call for a plain model
    already in the cache (its config.json is there and its adapter config is not)."""
    from rankify_lite.models import loader

    if os.path.isdir(model):
        path = Path(model) / ADAPTER_CONFIG
        return path if path.is_file() else None
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(model, ADAPTER_CONFIG, revision=revision)
        if isinstance(cached, str):
            return Path(cached)
        if isinstance(try_to_load_from_cache(model, "config.json", revision=revision), str):
            return None  # a cached full model
    except ValueError:  # not a valid hub id (a missing folder): the model loader says so
        return None
    return loader.model_file(model, ADAPTER_CONFIG, revision)


def find(model: str, revision: str | None = None, base_model: str | None = None) -> Adapter | None:
    """The adapter at ``model``, or None for a plain model (then ``base_model`` is refused)."""
    import json

    from rankify_lite.models import loader

    path = _adapter_config_file(model, revision)
    if path is None:
        if base_model:
            raise InputError(f"base_model={base_model!r} was given, but {model!r} holds no "
                             f"{ADAPTER_CONFIG}, so it is not a PEFT adapter.",
                             fix="drop base_model=, or pass the adapter's folder or id as model=.")
        return None
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the adapter config ({exc}).", path=path,
                         fix="save the adapter again with save_pretrained.") from None
    base = base_model or cfg.get("base_model_name_or_path")
    if not base:
        raise InputError(f"adapter {model!r} names no base model.", path=path, fix=NO_BASE_FIX)
    folder = path.parent
    for name in ADAPTER_WEIGHTS:  # a hub adapter: fetch its weights beside the config
        if (folder / name).is_file() or (
                not os.path.isdir(model) and loader.model_file(model, name, revision)):
            break
    else:
        raise InputError(f"adapter {model!r} holds no weights ({' or '.join(ADAPTER_WEIGHTS)}).",
                         path=folder, fix="save the adapter again with save_pretrained.")
    has_tok = any((folder / n).is_file() or (not os.path.isdir(model) and
                                              loader.model_file(model, n, revision))
                  for n in TOKENIZER_FILES)
    rev = (loader.resolved_revision(model, revision) if os.path.isdir(model)
           else folder.name if folder.parent.name == "snapshots" else revision)
    base_rev = cfg.get("revision") if base_model is None else None
    return Adapter(str(model), folder, rev, str(cfg.get("peft_type") or "LORA"), str(base),
                   base_rev, has_tok, loader.resolved_revision(str(base), base_rev))


def require_peft() -> Any:
    """The peft module, or the one line naming the extra that installs it."""
    return require("peft", extra="peft", feature="LoRA adapters")


def load_tokenizer(adapter: Adapter, tokenizer_cls: Any, **kwargs: Any) -> Any:
    """The tokenizer the adapter ships (its own folder), else the base's."""
    from rankify_lite.models import loader

    if adapter.has_tokenizer:
        return tokenizer_cls.from_pretrained(str(adapter.folder), **kwargs)
    return loader.from_pretrained(tokenizer_cls, adapter.base_model, adapter.base_revision,
                                  **kwargs)


def merge(base: Any, adapter: Adapter) -> Any:
    """``base`` with the adapter applied and merged in (a plain transformers model again)."""
    peft = require_peft()
    net = peft.PeftModel.from_pretrained(base, str(adapter.folder), is_trainable=False)
    if not callable(getattr(net, "merge_and_unload", None)):
        raise InputError(f"adapter {adapter.model!r} is a {adapter.peft_type} adapter, which "
                         "cannot be merged into the base weights.",
                         fix="use a LoRA (or another mergeable) adapter, or merge it yourself.")
    return net.merge_and_unload()


def refuse_folder(model: Any, engine: str, fix: str) -> None:
    """One-line refusal of a local adapter folder by an engine that cannot apply adapters."""
    if isinstance(model, str | os.PathLike) and (Path(model) / ADAPTER_CONFIG).is_file():
        raise InputError(f"{model} is a PEFT adapter folder ({ADAPTER_CONFIG}), which the "
                         f"{engine} engine cannot apply.", fix=fix)


def check_backend(model: Any, base_model: str | None, backend: str) -> None:
    """Refuse an adapter for a runtime other than torch (ONNX, OpenVINO export full models)."""
    if backend == "torch":
        return
    if base_model or (isinstance(model, str | os.PathLike) and
                      (Path(model) / ADAPTER_CONFIG).is_file()):
        raise InputError(f"backend {backend!r} exports full models only, and {model} is a PEFT "
                         "adapter.", fix="use backend='torch' (the adapter is merged as it "
                         "loads), or save the merged model (PeftModel.merge_and_unload()"
                         ".save_pretrained) and export that folder.")
