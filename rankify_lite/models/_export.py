"""What the ONNX and OpenVINO backends share when they export a Hugging Face model: the
named-input torch wrapper that is traced, and the cache folder an export is kept in."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any


def named_inputs(model: Any, input_names: list[str], output: Callable[[Any, Any], Any]) -> Any:
    """``model`` as a torch module taking ``input_ids``, ``attention_mask`` and (when in
    ``input_names``) ``token_type_ids`` as tensors, returning ``output(model_out, mask)``."""
    import torch

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if "token_type_ids" in input_names:
                kwargs["token_type_ids"] = token_type_ids
            return output(self.model(**kwargs), attention_mask)

    return Wrapped().eval()


def cache_folder(kind: str, model: str, revision: str | None, backend: str, settings: dict[str, Any]) -> Path:
    """``$RANKIFY_LITE_CACHE/<kind>/<model name>-<backend>-<key>``; the key covers the model
    (its resolved path for a local folder), the revision, the backend and the settings."""
    from rankify_lite.cache import cache_dir, content_key

    local = os.path.isdir(model)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model).name if local else model)
    key = content_key(str(Path(model).resolve()) if local else model, revision or "", backend, settings)
    from rankify_lite.io.files import inside

    # a long model id is cut (the key still tells models apart); the folder stays in the cache
    return inside(cache_dir(kind), f"{name[:80]}-{backend}-{key}", "exported-model folder")
