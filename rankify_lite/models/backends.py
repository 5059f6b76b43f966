"""``backend=``: which runtime runs an encoder's or cross-encoder's forward pass on the CPU.

"torch" (default; any device and dtype), "onnx" / "onnx-int8" (ONNX Runtime,
:mod:`.onnx_backend`), "openvino" / "openvino-int8" (OpenVINO, static int8 calibrated with
NNCF on the collection's texts, :mod:`.openvino_backend`). Every non-torch backend is a
callable ``runner(feeds) -> np.ndarray`` over padded numpy batches, so tokenisation, batching
and pooling stay the families' own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rankify_lite.errors import InputError

BACKENDS = ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")
INT8 = ("onnx-int8", "openvino-int8")


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}.",
                         fix=f"use one of {', '.join(BACKENDS)} ('onnx*' need pip install "
                             "'rankify-lite[onnx]', 'openvino*' need "
                             "'rankify-lite[openvino]').")
    return backend


def load_runner(auto_cls: Any, model: str, *, revision: str | None, backend: str, task: str,
                device: str | None = None, dtype: str | None = None
                ) -> tuple[Any, Any, Any, str | None, str]:
    """(tokenizer, HF config, runner, resolved revision, dtype name) for a non-torch backend."""
    check_backend(backend)
    if backend.startswith("onnx"):
        if task == "splade":
            raise InputError("the ONNX backends do not run SPLADE.",
                             fix="use backend='openvino' or 'openvino-int8' for SPLADE.")
        from rankify_lite.models import onnx_backend

        tok, cfg, runner, rev = onnx_backend.load(auto_cls, model, revision=revision,
                                                  backend=backend, task=task, device=device,
                                                  dtype=dtype)
        return tok, cfg, runner, rev, "int8" if backend in INT8 else "float32"
    from rankify_lite.models import openvino_backend

    tok, cfg, runner, rev = openvino_backend.load(auto_cls, model, revision=revision,
                                                  backend=backend, task=task, device=device,
                                                  dtype=dtype)
    name = "bfloat16" if runner.precision == "bf16" else "float32"
    return tok, cfg, runner, rev, ("int8" if backend in INT8 else name)


def calibration_note(backend: str, given: int | None, runner: Any = None) -> dict[str, Any]:
    """What a run's config records about int8 calibration and the precision of the ops int8
    does not cover (nothing for other backends)."""
    if backend != "openvino-int8":
        return {}
    from rankify_lite.models.openvino_backend import CALIBRATION_SIZE

    precision = getattr(runner, "precision", None)
    return {"calibration": f"{given} given inputs" if given is not None else
            f"first call's inputs (<= {CALIBRATION_SIZE} evenly spaced)",
            # attention, softmax, norms: fp32 unless dtype="bf16"
            **({"non_int8_ops": "bfloat16" if precision == "bf16" else "float32"}
               if precision else {})}


def needs_calibration(runner: Any) -> bool:
    return bool(getattr(runner, "needs_calibration", False))


def calibration_sample(items: Sequence[Any]) -> list[Any]:
    """The default calibration sample of ``items`` (evenly spaced, deterministic)."""
    from rankify_lite.models.openvino_backend import sample_positions

    return [items[int(i)] for i in sample_positions(len(items))]


def feeds_of(batch: Any) -> dict[str, np.ndarray]:
    """A :class:`~._batching.Batch` as runner inputs (token types all zero)."""
    return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
            "token_type_ids": np.zeros_like(batch.input_ids)}
