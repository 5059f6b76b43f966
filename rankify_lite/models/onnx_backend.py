"""ONNX Runtime backend for encoders and cross-encoders: fp32 or dynamic int8, cached on disk.

``backend="onnx"`` or ``backend="onnx-int8"`` on :class:`~rankify_lite.models.DenseEncoder`
and the cross-encoder reranker runs the model with ONNX Runtime instead of torch:

1. the Hugging Face model is exported once with torch's own exporter (``torch.onnx.export``);
2. for ``onnx-int8``, ONNX Runtime's quantizer (``onnxruntime.quantization.quantize_dynamic``)
   turns the MatMul weights into per-channel int8 (activations are quantized on the fly, no
   calibration data, so the model does not depend on what it is later run on);
3. the result is cached under ``$RANKIFY_LITE_CACHE/onnx/<model>-<key>``, the key covering the
   model id, its resolved revision (a weight fingerprint for local folders), the task, the
   quantization settings and the exporter / quantizer versions, built atomically, so later runs
   load it in a second.

Tokenisation, length-sorted batching, pooling and activations stay ours: only the forward
pass changes. int8 scores differ slightly from fp32 (docs/how-to/cpu-backends.md includes the measured
agreement and nDCG from benchmarks/RESULTS.md, section int8_cpu).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require

BACKENDS = ("torch", "onnx", "onnx-int8")
TASKS = ("feature-extraction", "sequence-classification")
#: bump when the exported graph or the quantization recipe changes
EXPORT_FORMAT = 1
OPSET = 17
#: dynamic int8: per-channel int8 weights for the MatMuls with a constant weight, uint8
#: activations quantized per batch at run time (per-tensor weights cost MiniLM ~0.07 cosine)
INT8_SETTINGS = {"weight_type": "QInt8", "per_channel": True, "reduce_range": False,
                 "op_types": ["MatMul"], "const_b_only": True}


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}.",
                         fix=f"use one of {', '.join(BACKENDS)} ('onnx' and 'onnx-int8' need "
                             "pip install 'rankify-lite[onnx]').")
    return backend


def _require_onnx() -> Any:
    require("onnx", extra="onnx", feature="the ONNX backend")
    return require("onnxruntime", extra="onnx", feature="the ONNX backend")


def export_settings(backend: str, task: str, input_names: list[str]) -> dict[str, Any]:
    """Everything that shapes the exported file (part of the cache key)."""
    import onnxruntime
    import torch

    settings: dict[str, Any] = {"format": EXPORT_FORMAT, "task": task, "opset": OPSET,
                                "inputs": list(input_names), "torch": torch.__version__,
                                "onnxruntime": onnxruntime.__version__}
    if backend == "onnx-int8":
        settings["int8"] = INT8_SETTINGS
    return settings


def cached_model_dir(model: str, revision: str | None, backend: str, task: str,
                     input_names: list[str]) -> tuple[Path, dict[str, Any]]:
    """Folder that holds (or will hold) the exported model, and the settings keying it."""
    from rankify_lite.models._export import cache_folder

    settings = export_settings(backend, task, input_names)
    return cache_folder("onnx", model, revision, backend, settings), settings


def _wrap(model: Any, task: str, input_names: list[str]) -> Any:
    """A torch module with named tensor inputs returning one tensor: ``last_hidden_state``
    (feature extraction) or ``logits`` (classification)."""
    from rankify_lite.models._export import named_inputs

    if task == "sequence-classification":
        return named_inputs(model, input_names, lambda out, mask: out.logits)
    return named_inputs(model, input_names, lambda out, mask: out.last_hidden_state)


def _export(model: Any, task: str, input_names: list[str], path: Path) -> str:
    """``torch.onnx.export`` with dynamic batch and sequence axes; returns the exporter used."""
    import warnings

    import torch

    output = "logits" if task == "sequence-classification" else "last_hidden_state"
    example = tuple(torch.ones((2, 8), dtype=torch.long) if n != "token_type_ids"
                    else torch.zeros((2, 8), dtype=torch.long) for n in input_names)
    axes = {n: {0: "batch", 1: "sequence"} for n in input_names}
    axes[output] = {0: "batch"} if task == "sequence-classification" else \
        {0: "batch", 1: "sequence"}
    wrapped = _wrap(model, task, input_names)
    common = {"input_names": list(input_names), "output_names": [output],
              "opset_version": OPSET, "external_data": False}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:  # the TorchScript-based exporter: fast, and ORT's fusions know its graphs
            torch.onnx.export(wrapped, example, str(path), dynamo=False, dynamic_axes=axes,
                              do_constant_folding=True, **common)
            return "torchscript"
        except Exception as exc:  # noqa: BLE001 - retired or untraceable: use torch.export
            first = exc
        batch, seq = torch.export.Dim("batch", min=1), torch.export.Dim("sequence", min=2)
        shapes = {n: {0: batch, 1: seq} for n in input_names}
        try:
            torch.onnx.export(wrapped, example, str(path), dynamo=True, dynamic_shapes=shapes,
                              **common)
        except Exception as exc:
            raise InputError(f"cannot export this model to ONNX: {first}; then {exc}",
                             fix="use backend='torch' for this model.") from exc
        return "dynamo"


def _quantize_int8(src: Path, dst: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=getattr(QuantType, INT8_SETTINGS["weight_type"]),
                     per_channel=INT8_SETTINGS["per_channel"],
                     reduce_range=INT8_SETTINGS["reduce_range"],
                     op_types_to_quantize=list(INT8_SETTINGS["op_types"]),
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT,
                                    "MatMulConstBOnly": INT8_SETTINGS["const_b_only"]})


def ensure_model(model: str, revision: str | None, backend: str, task: str,
                 input_names: list[str], load_torch_model: Any) -> Path:
    """Path of the cached ``model.onnx`` for this model / backend / task, exporting (and
    quantizing) it first when absent. ``load_torch_model()`` gives the fp32 torch model and is
    called only on a cache miss."""
    if backend not in ("onnx", "onnx-int8"):
        raise InputError(f"backend {backend!r} has no ONNX file.", fix="use 'onnx' or 'onnx-int8'.")
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}.", fix=f"use one of {TASKS}.")
    _require_onnx()
    from rankify_lite.retrievers.index_cache import build_or_open

    folder, settings = cached_model_dir(model, revision, backend, task, input_names)

    def build(tmp: Path) -> dict[str, Any]:
        net = load_torch_model()
        fp32 = tmp / ("model.onnx" if backend == "onnx" else "fp32.onnx")
        exporter = _export(net, task, input_names, fp32)
        if backend == "onnx-int8":
            _quantize_int8(fp32, tmp / "model.onnx")
            fp32.unlink()
        return {"exporter": exporter}

    folder, _ = build_or_open(folder, build, {"model": model, "revision": revision,
                                              "backend": backend, "settings": settings})
    return folder / "model.onnx"


class OnnxRunner:
    """An ONNX Runtime session over a cached model: ``runner(feeds) -> first output``."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        ort = _require_onnx()
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = int(threads or _default_threads())
        opts.inter_op_num_threads = 1
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        ids = feeds["input_ids"]
        inputs = {n: np.ascontiguousarray(feeds[n] if n in feeds else np.zeros_like(ids),
                                          dtype=np.int64) for n in self.input_names}
        return self.session.run(None, inputs)[0]


def _default_threads() -> int:
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:  # pragma: no cover - torch is installed with every model extra
        return os.cpu_count() or 1


def load(auto_cls: Any, model: str, *, revision: str | None, backend: str, task: str,
         device: str | None = None, dtype: str | None = None,
         threads: int | None = None) -> tuple[Any, Any, OnnxRunner, str | None]:
    """(tokenizer, Hugging Face config, runner, resolved revision) for an ONNX backend.

    The torch weights are loaded only when the cached ONNX file has to be built.
    """
    import transformers

    from rankify_lite.models import loader

    check_backend(backend)
    if device not in (None, "cpu"):
        raise InputError(f"backend {backend!r} runs on the CPU, not on {device!r}.",
                         fix="drop device=, or use backend='torch' on a GPU.")
    if dtype not in (None, "auto") and loader.dtype_name(loader.pick_dtype(dtype, "cpu")) \
            != "float32":
        raise InputError(f"backend {backend!r} sets its own precision; dtype={dtype!r} "
                         "does not apply.", fix="drop dtype=.")
    _require_onnx()
    tokenizer = loader.from_pretrained(transformers.AutoTokenizer, model, revision)
    config = loader.from_pretrained(transformers.AutoConfig, model, revision)
    resolved = loader.resolved_revision(model, revision)
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in tokenizer.model_input_names and \
            getattr(config, "type_vocab_size", 0):
        names.append("token_type_ids")

    def load_torch() -> Any:
        import torch

        net = loader.from_pretrained(auto_cls, model, revision, dtype=torch.float32,
                                     attn_implementation="eager")
        return net.to("cpu").eval()

    path = ensure_model(model, resolved, backend, task, names, load_torch)
    return tokenizer, config, OnnxRunner(path, threads), resolved
