"""``backend=``: which runtime runs an encoder's or cross-encoder's forward pass on the CPU.

"auto" (default: :func:`resolve` picks the fastest faithful path for the machine), "torch"
(the reference path; any device and dtype), "onnx" / "onnx-int8" (ONNX Runtime,
:mod:`.onnx_backend`), "openvino" / "openvino-int8" (OpenVINO, static int8 calibrated with
NNCF on the collection's texts, :mod:`.openvino_backend`). Every non-torch backend is a
callable ``runner(feeds) -> np.ndarray`` over padded numpy batches, so tokenisation, batching
and pooling stay the families' own.

What "auto" chooses (:func:`resolve`; only paths whose quality goal a test proves):

* a GPU (``device`` names one, or none is named and torch sees CUDA): torch, bf16 where the GPU
  has it (else fp16), SDPA attention;
* a CPU with native bf16 (AMX or AVX512-BF16) and OpenVINO installed: OpenVINO bf16 (the
  fastest path of ``benchmarks/int8_cpu.py`` that keeps fp32's ranking;
  ``tests/models/test_auto_backend.py`` proves Spearman >= 0.999 on real weights);
* another CPU with OpenVINO: OpenVINO fp32 (the faster fp32 path in the same benchmark, equal
  rankings); without OpenVINO: torch fp32;
* a PEFT adapter (merged at load; the exporters take full models only): torch.

``RANKIFY_LITE_EXACT=1`` (the CLI's ``--exact``) makes "auto" the reference path, torch fp32,
everywhere. The resolved backend and dtype replace "auto" in the component's spec, so
``rerun`` rebuilds the same path, or refuses where the machine cannot run it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rankify_lite.errors import InputError

AUTO = "auto"
BACKENDS = (AUTO, "torch", "onnx", "onnx-int8", "openvino", "openvino-int8")
INT8 = ("onnx-int8", "openvino-int8")
#: environment variable: "1" makes backend="auto" the reference path (torch fp32)
EXACT_ENV = "RANKIFY_LITE_EXACT"
_FP32 = ("float32", "fp32")
_BF16 = ("bfloat16", "bf16")

log = logging.getLogger(__name__)


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}.",
                         fix=f"use one of {', '.join(BACKENDS)} ('onnx*' need pip install "
                             "'rankify-lite[onnx]', 'openvino*' need "
                             "'rankify-lite[openvino]').")
    return backend


def exact_requested() -> bool:
    """Whether ``RANKIFY_LITE_EXACT`` asks for the reference path (torch fp32)."""
    return os.environ.get(EXACT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Choice:
    """A resolved backend: what runs (``backend``, and the ``dtype`` passed on; None: the
    loader's default for the device), whether "auto" chose it, and why."""

    backend: str
    dtype: str | None
    auto: bool
    reason: str

    def describe(self, precision: str) -> str:
        return f"{self.backend} {precision}" + (f" (auto: {self.reason})" if self.auto else "")


def _openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def _native_bf16() -> bool:
    from rankify_lite.models.openvino_backend import has_native_bf16

    return has_native_bf16()


def _gpu(device: str | None) -> bool:
    if device:
        return not str(device).startswith("cpu")
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(torch.cuda.is_available() or (mps is not None and mps.is_available()))


def resolve(backend: str, dtype: Any, device: str | None, *, adapter: bool = False,
            remote_code: bool = False) -> Choice:
    """The backend and dtype a component runs: ``backend`` itself unless it is "auto"; then
    the rules in this module's docstring. ``adapter``: the model is a PEFT adapter;
    ``remote_code``: it runs its own modelling code (trust_remote_code), which only torch
    loads."""
    check_backend(backend)
    if backend != AUTO:
        if backend.startswith("openvino") and dtype == "auto":  # the CPU's fast precision
            dtype = "bf16" if backend == "openvino" and _native_bf16() else None
        return Choice(backend, dtype, False, "given")
    explicit = dtype not in (None, "auto")
    name = str(dtype).lower().replace("torch.", "") if explicit else None
    if exact_requested():
        return Choice("torch", dtype if explicit else "float32", True,
                      f"{EXACT_ENV} asks for the reference path")
    if _gpu(device):
        return Choice("torch", dtype if explicit else None, True,
                      "a GPU: torch in its fast precision with SDPA attention")
    if adapter:
        return Choice("torch", dtype if explicit else None, True,
                      "a PEFT adapter is merged as it loads; the exporters take full models")
    if remote_code:
        return Choice("torch", dtype if explicit else None, True,
                      "trust_remote_code models load through torch only")
    if not _openvino_installed():
        return Choice("torch", dtype if explicit else None, True,
                      "OpenVINO is not installed (pip install 'rankify-lite[openvino]' "
                      "for the faster CPU path)")
    native = _native_bf16()
    if name in _FP32 or (not explicit and not native):
        return Choice("openvino", None, True,
                      "OpenVINO fp32 is the faster fp32 path on this CPU" +
                      ("" if native else " (no native bf16)"))
    if name in _BF16 or not explicit:
        if native:
            return Choice("openvino", "bf16", True, "this CPU has native bf16 (AMX or "
                          "AVX512-BF16): OpenVINO bf16 keeps fp32's ranking")
    return Choice("torch", dtype, True, f"dtype={dtype!r} runs on torch")


def is_adapter(model: Any, base_model: str | None) -> bool:
    """A PEFT adapter given as a local folder, or with an explicit base."""
    from pathlib import Path

    from rankify_lite.models.adapters import ADAPTER_CONFIG

    return bool(base_model) or (isinstance(model, str | os.PathLike)
                                and (Path(model) / ADAPTER_CONFIG).is_file())


_SAID: set[str] = set()
_ANNOUNCE: list[Callable[[str], None]] = []  # the CLI's printer while a command runs


def announce_to(printer: Callable[[str], None] | None) -> None:
    """Where "auto" choices are announced (each distinct one once): the CLI passes a printer
    for the length of a command, None stops it."""
    _ANNOUNCE.clear()
    _SAID.clear()
    if printer is not None:
        _ANNOUNCE.append(printer)


def note_choice(what: str, choice: Choice, precision: str) -> None:
    """Say an "auto" choice (``what`` names the component): logged, and printed once by the
    CLI's printer when one is set."""
    if not choice.auto:
        return
    line = f"{what}: {choice.describe(precision)}"
    log.info("backend %s", line)
    if line not in _SAID:
        _SAID.add(line)
        for printer in _ANNOUNCE:
            printer(line)


def record_choice(component: Any, encoder: Any) -> None:
    """Put the backend and dtype ``encoder`` resolved into ``component``'s recorded spec (in
    place of "auto"), so a rerun rebuilds the same path."""
    options = getattr(component, "_spec_options", None)
    choice = getattr(encoder, "backend_choice", None)
    if options is None or choice is None or not choice.auto:
        return
    from rankify_lite.models import loader

    options["backend"] = choice.backend
    options["dtype"] = loader.dtype_name(encoder.dtype) if encoder.dtype is not None else None


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


def feeds_of(batch: Any) -> dict[str, Any]:
    """A :class:`~._batching.Batch` as runner inputs (token types all zero)."""
    import numpy as np

    return {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
            "token_type_ids": np.zeros_like(batch.input_ids)}
