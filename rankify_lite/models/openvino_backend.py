"""OpenVINO backend for encoders, SPLADE and cross-encoders: fp32 or static int8 (NNCF).

``backend="openvino"`` or ``backend="openvino-int8"`` on :class:`~rankify_lite.models.DenseEncoder`,
:class:`~rankify_lite.models.SpladeEncoder`, the bi-encoder and the cross-encoder reranker runs
the forward pass with OpenVINO on the CPU (the ``openvino`` and ``nncf`` packages, which
optimum-intel and sentence-transformers' OpenVINO backend are built on):

1. the Hugging Face model is converted once with OpenVINO's PyTorch frontend
   (``openvino.convert_model``, dynamic batch and sequence axes) and saved as fp32 IR;
2. for ``openvino-int8``, NNCF's post-training quantization (``nncf.quantize``, transformer
   preset: int8 weights per channel, int8 activations with static ranges) is calibrated on the
   collection's own inputs: the texts (or query-passage pairs) given as ``calibration=``, else a
   deterministic sample of the first texts the model is asked to encode;
3. both are cached under ``$RANKIFY_LITE_CACHE/openvino/<model>-<key>``; the key covers the
   model id, its resolved revision (a weight fingerprint for local folders), the task, the
   export / quantization settings, the package versions and, for int8, a hash of the
   calibration token ids. A second load with the same key compiles the cached IR, no export.

Tokenisation, length-sorted batching, token budgets and pooling stay ours. A batch's rows are
split over parallel infer requests, each cut to its own rows' width and padded up to a multiple
of :data:`BUCKET` tokens (masked out, so results are unchanged) so the CPU plugin meets few
distinct shapes (:class:`OpenVinoRunner`). ``precision`` "f32" (default) keeps fp32
arithmetic; "bf16" lets the CPU plugin run non-int8 ops in bf16 where the CPU has native bf16
(AVX512-BF16 or AMX; see :func:`load`); :func:`cpu_features` says what it has.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require

BACKENDS = ("openvino", "openvino-int8")
TASKS = ("feature-extraction", "sequence-classification", "splade")
#: bump when the converted graph or the quantization recipe changes
EXPORT_FORMAT = 1
#: sequence widths are padded up to a multiple of this (fewer shapes for the CPU plugin)
BUCKET = 16
#: calibration inputs NNCF sees (texts or pairs), and rows per calibration batch
CALIBRATION_SIZE = 256
CALIBRATION_BATCH = 16
INT8_SETTINGS = {"preset": "mixed", "model_type": "transformer", "fast_bias_correction": True,
                 "calibration_size": CALIBRATION_SIZE, "calibration_batch": CALIBRATION_BATCH}
PRECISIONS = ("f32", "bf16")
#: parallel infer requests a batch is split over (at most; one per thread below that)
MAX_STREAMS = 4
#: a batch runs as requests of consecutive rows of at most this many (padded) tokens each,
#: queued over the streams: smaller requests than a whole batch's share of a stream were
#: 1.01-1.08x faster on 2 cores (MiniLM int8, 349-token pairs and SciFact abstracts; noisy)
TOKENS_PER_REQUEST = 2048


def require_openvino() -> Any:
    return require("openvino", extra="openvino", feature="the OpenVINO backend")


def cpu_features() -> dict[str, bool]:
    """What the CPU offers for fast inference: AMX tiles, AVX512 bf16 / VNNI (Linux flags)."""
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:  # not Linux: report nothing, callers fall back to fp32
        pass
    return {"amx": {"amx_bf16", "amx_tile"} <= flags, "amx_int8": "amx_int8" in flags,
            "avx512_bf16": "avx512_bf16" in flags, "avx512_vnni": "avx512_vnni" in flags,
            "avx_vnni": "avx_vnni" in flags}


def has_native_bf16() -> bool:
    f = cpu_features()
    return f["amx"] or f["avx512_bf16"]


def check_precision(precision: str | None) -> str:
    precision = precision or "f32"
    if precision not in PRECISIONS:
        raise InputError(f"unknown OpenVINO precision {precision!r}.",
                         fix=f"use one of {', '.join(PRECISIONS)}.")
    return precision


def _versions() -> dict[str, str]:
    import openvino

    out = {"openvino": openvino.__version__}
    try:
        import nncf

        out["nncf"] = nncf.__version__
    except ImportError:
        pass
    return out


def calibration_hash(feeds: Sequence[dict[str, np.ndarray]]) -> str:
    """sha256 (16 hex) over the calibration batches' token ids and masks."""
    h = hashlib.sha256()
    for feed in feeds:
        for name in sorted(feed):
            arr = np.ascontiguousarray(feed[name], dtype=np.int64)
            h.update(name.encode())
            h.update(str(arr.shape).encode())
            h.update(arr.tobytes())
    return h.hexdigest()[:16]


def _folder(model: str, revision: str | None, backend: str, task: str,
            input_names: list[str], calibration: str | None) -> tuple[Path, dict[str, Any]]:
    from rankify_lite.models._export import cache_folder

    settings: dict[str, Any] = {"format": EXPORT_FORMAT, "task": task,
                                "inputs": list(input_names), **_versions()}
    if backend == "openvino-int8":
        settings["int8"] = INT8_SETTINGS
        settings["calibration"] = calibration
    import torch

    settings["torch"] = torch.__version__
    return cache_folder("openvino", model, revision, backend, settings), settings


def _wrap(model: Any, task: str, input_names: list[str]) -> Any:
    """A torch module with named tensor inputs and one output: ``last_hidden_state``,
    ``logits`` or, for SPLADE, the (batch, vocab) max-pooled ``log1p(relu(logits))``."""
    import torch

    from rankify_lite.models._export import named_inputs

    def output(out: Any, attention_mask: Any) -> Any:
        if task == "feature-extraction":
            return out.last_hidden_state
        if task == "sequence-classification":
            return out.logits
        logits = out.logits.masked_fill(attention_mask.unsqueeze(-1) == 0, float("-inf"))
        return torch.log1p(torch.relu(logits.amax(dim=1)))

    return named_inputs(model, input_names, output)


def convert(model: Any, task: str, input_names: list[str]) -> Any:
    """The torch model as an ``openvino.Model`` with dynamic (batch, sequence) inputs."""
    import warnings

    import torch

    ov = require_openvino()
    example = {n: (torch.zeros if n == "token_type_ids" else torch.ones)((2, 16), dtype=torch.long)
               for n in input_names}
    shapes = [(n, ov.PartialShape([-1, -1]), ov.Type.i64) for n in input_names]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ov.convert_model(_wrap(model, task, input_names), example_input=example,
                                    input=shapes)
        except Exception as exc:
            raise InputError(f"cannot convert this model to OpenVINO: {exc}",
                             fix="use backend='torch' or 'onnx' for this model.") from exc


def quantize_int8(ov_model: Any, feeds: Sequence[dict[str, np.ndarray]]) -> Any:
    """NNCF static int8 of an fp32 ``openvino.Model``, calibrated on ``feeds``."""
    nncf = require("nncf", extra="openvino", feature="OpenVINO int8 (static, NNCF)")
    if not feeds:
        raise InputError("int8 calibration needs at least one input.",
                         fix="pass calibration= texts, or encode some texts first.")
    return nncf.quantize(ov_model, nncf.Dataset(list(feeds)),
                         preset=nncf.QuantizationPreset.MIXED,
                         model_type=nncf.ModelType.TRANSFORMER,
                         fast_bias_correction=INT8_SETTINGS["fast_bias_correction"],
                         subset_size=len(feeds))


def ensure_model(model: str, revision: str | None, backend: str, task: str,
                 input_names: list[str], load_torch_model: Callable[[], Any],
                 calibration: Sequence[dict[str, np.ndarray]] | None = None) -> Path:
    """Path of the cached ``model.xml``, converting (and quantizing) it first when absent.

    ``load_torch_model()`` gives the fp32 torch model and is called only on a cache miss of
    the fp32 IR; int8 is built from the cached fp32 IR."""
    if backend not in BACKENDS:
        raise InputError(f"backend {backend!r} has no OpenVINO file.",
                         fix=f"use one of {', '.join(BACKENDS)}.")
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}.", fix=f"use one of {TASKS}.")
    ov = require_openvino()
    from rankify_lite.retrievers.index_cache import build_or_open

    info = {"model": model, "revision": revision, "backend": backend}
    fp32_folder, settings = _folder(model, revision, "openvino", task, input_names, None)

    def build_fp32(tmp: Path) -> dict[str, Any]:
        ov.save_model(convert(load_torch_model(), task, input_names), str(tmp / "model.xml"),
                      compress_to_fp16=False)
        return {"converter": "openvino.convert_model"}

    fp32_folder, _ = build_or_open(fp32_folder, build_fp32, {**info, "backend": "openvino",
                                                             "settings": settings})
    if backend == "openvino":
        return fp32_folder / "model.xml"
    if calibration is None:
        raise InputError("openvino-int8 needs calibration inputs.",
                         fix="pass calibration= (texts of the collection).")
    digest = calibration_hash(calibration)
    folder, settings = _folder(model, revision, backend, task, input_names, digest)

    def build_int8(tmp: Path) -> dict[str, Any]:
        fp32 = ov.Core().read_model(str(fp32_folder / "model.xml"))
        ov.save_model(quantize_int8(fp32, calibration), str(tmp / "model.xml"),
                      compress_to_fp16=False)
        return {"calibration_rows": int(sum(len(f["input_ids"]) for f in calibration))}

    folder, _ = build_or_open(folder, build_int8, {**info, "settings": settings})
    return folder / "model.xml"


def bucket_width(width: int, limit: int | None = None) -> int:
    """``width`` rounded up to a multiple of :data:`BUCKET` (never past ``limit``)."""
    up = -(-int(width) // BUCKET) * BUCKET
    return max(int(width), min(up, limit)) if limit else up


class OpenVinoRunner:
    """A compiled OpenVINO model over a cached IR: ``runner(feeds) -> first output``.

    A batch's rows go out as requests of consecutive rows (:meth:`groups`: at most
    ``tokens_per_request`` padded tokens each), queued over ``streams`` parallel infer requests,
    each on its share of the threads (one thread per stream on 2 threads), instead of one
    request whose every op is parallelised over all threads. Rows are independent, so the
    outputs are those of one request. Each request is cut to its own longest real row (from
    the attention mask; a length-sorted batch's requests differ) and padded up to a multiple
    of :data:`BUCKET` tokens (pad id 0, mask 0), so the plugin meets few distinct shapes; a
    feature-extraction output is padded back to the caller's width with zeros.

    One dynamic-shape compiled model serves every shape. Static shapes (a model reshaped and
    compiled per (rows, width)) were measured and dropped: a reranking run meets more shapes
    than the compiled copies memory allows (~130 MB each for MiniLM at batch 32), so they were
    recompiled again and again (real per-query reranking ran at ~0.75x the dynamic model), and
    which copy ran a text depended on what had run before.
    """

    def __init__(self, path: Path, task: str, *, threads: int | None = None,
                 precision: str = "f32", max_width: int | None = None,
                 streams: int | None = None,
                 tokens_per_request: int | None = TOKENS_PER_REQUEST) -> None:
        ov = require_openvino()
        self.path, self.task = Path(path), task
        self.precision = check_precision(precision)
        self.max_width = max_width
        self.threads = int(threads or _default_threads())
        self.streams = max(1, min(int(streams or default_streams(self.threads)), self.threads))
        self.tokens_per_request = tokens_per_request
        core = ov.Core()
        model = core.read_model(str(path))
        self.input_names = [i.get_any_name() for i in model.inputs]
        self._compiled = core.compile_model(
            model, "CPU", {"INFERENCE_NUM_THREADS": self.threads, "NUM_STREAMS": self.streams,
                           "INFERENCE_PRECISION_HINT": self.precision})
        self._queue = ov.AsyncInferQueue(self._compiled, self.streams)

    def groups(self, real: np.ndarray) -> list[tuple[int, int]]:
        """(start, end) rows of each request, given each row's real length: consecutive rows
        while rows x padded width stays within ``tokens_per_request`` (at least one row), or,
        with ``tokens_per_request=None``, the batch split evenly over the streams."""
        b = len(real)
        if not self.tokens_per_request:
            rows = -(-b // max(1, min(self.streams, b)))
            return [(lo, min(b, lo + rows)) for lo in range(0, b, rows)]
        spans, lo, widest = [], 0, 0
        for i, n in enumerate(real.tolist()):
            widest = max(widest, int(n))
            if i > lo and (i - lo + 1) * bucket_width(widest, self.max_width) \
                    > self.tokens_per_request:
                spans.append((lo, i))
                lo, widest = i, int(n)
        spans.append((lo, b))
        return spans

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        ids = feeds["input_ids"]
        b, width = ids.shape
        mask = feeds.get("attention_mask")
        real = (np.asarray(mask).sum(axis=1) if mask is not None
                else np.full(b, width, dtype=np.int64))
        inputs = {n: np.ascontiguousarray(feeds[n] if n in feeds else np.zeros_like(ids),
                                          dtype=np.int64) for n in self.input_names}
        spans = self.groups(real)
        outs: list[np.ndarray | None] = [None] * len(spans)
        owns = [max(1, min(width, int(real[lo:hi].max()))) for lo, hi in spans]

        def done(request: Any, k: int) -> None:
            out = request.get_output_tensor(0).data
            if self.task == "feature-extraction":  # back to the caller's width, zeros after
                full = np.zeros((out.shape[0], width, *out.shape[2:]), dtype=out.dtype)
                full[:, :owns[k]] = out[:, :owns[k]]
                outs[k] = full
            else:
                outs[k] = out.copy()

        self._queue.set_callback(done)
        for k, (lo, hi) in enumerate(spans):
            padded = bucket_width(owns[k], self.max_width)
            part = {}
            for n, arr in inputs.items():
                cut = arr[lo:hi, :owns[k]]
                if padded > owns[k]:
                    cut = np.pad(cut, ((0, 0), (0, padded - owns[k])))
                part[n] = cut
            self._queue.start_async(part, k)
        self._queue.wait_all()
        return np.concatenate(outs)


def default_streams(threads: int) -> int:
    """Parallel infer requests per batch: one per thread up to :data:`MAX_STREAMS`."""
    return max(1, min(int(threads), MAX_STREAMS))


def _default_threads() -> int:
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:  # pragma: no cover - torch comes with every model extra
        return os.cpu_count() or 1


def input_names_for(tokenizer: Any, config: Any) -> list[str]:
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in tokenizer.model_input_names and getattr(config, "type_vocab_size", 0):
        names.append("token_type_ids")
    return names


class OpenVinoModel:
    """The backend as the families use it: fp32 compiles at once; int8 compiles as soon as it
    has calibration inputs (given up front, or from the first call via :meth:`calibrate`)."""

    def __init__(self, auto_cls: Any, model: str, revision: str | None, backend: str,
                 task: str, tokenizer: Any, config: Any, *, threads: int | None = None,
                 precision: str | None = None, max_width: int | None = None) -> None:
        self.model, self.revision, self.backend, self.task = model, revision, backend, task
        self.input_names = input_names_for(tokenizer, config)
        self.threads, self.max_width = threads, max_width
        self.precision = check_precision(precision)
        self.calibration_hash: str | None = None
        self.runner: OpenVinoRunner | None = None
        self._auto_cls = auto_cls
        if backend == "openvino":
            self._compile(None)

    @property
    def needs_calibration(self) -> bool:
        return self.runner is None

    def _load_torch(self) -> Any:
        import torch

        from rankify_lite.models import loader

        net = loader.from_pretrained(self._auto_cls, self.model, self.revision,
                                     dtype=torch.float32, attn_implementation="eager")
        return net.to("cpu").eval()

    def _compile(self, feeds: Sequence[dict[str, np.ndarray]] | None) -> None:
        path = ensure_model(self.model, self.revision, self.backend, self.task,
                            self.input_names, self._load_torch, feeds)
        if feeds is not None:
            self.calibration_hash = calibration_hash(feeds)
        # fp32 (backend "openvino" without bf16) is the exact path: one request, as verified
        # against torch in every benchmark run (with streams + static shapes, the cross-encoder's
        # fp32 path once gave wrong scores, Spearman 0.75-0.80, in 2 of 3 benchmark runs, not
        # reproduced in isolation). The fast paths (bf16, int8) split rows over streams.
        exact = self.backend == "openvino" and self.precision == "f32"
        self.runner = OpenVinoRunner(path, self.task, threads=self.threads,
                                     precision=self.precision, max_width=self.max_width,
                                     streams=1 if exact else None)

    def calibrate(self, feeds: Sequence[dict[str, np.ndarray]]) -> None:
        """Quantize (or open the cached int8 model for) these calibration batches."""
        if self.runner is None:
            self._compile([{k: v for k, v in f.items() if k in self.input_names}
                           for f in feeds])

    @property
    def path(self) -> Path | None:
        return None if self.runner is None else self.runner.path

    def __call__(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        if self.runner is None:
            raise InputError("openvino-int8 was called before it was calibrated.",
                             fix="pass calibration= or call calibrate() first.")
        return self.runner(feeds)


def sample_positions(n: int, size: int = CALIBRATION_SIZE) -> np.ndarray:
    """``size`` evenly spread positions of ``n`` inputs (all when fewer): the default
    calibration sample, deterministic for the same inputs."""
    if n <= size:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, size).round().astype(np.int64))


def load(auto_cls: Any, model: str, *, revision: str | None, backend: str, task: str,
         device: str | None = None, dtype: str | None = None,
         threads: int | None = None) -> tuple[Any, Any, OpenVinoModel, str | None]:
    """(tokenizer, Hugging Face config, OpenVinoModel, resolved revision).

    ``dtype`` None / "float32" keeps fp32 arithmetic; "bf16" / "bfloat16" sets the CPU
    plugin's bf16 inference precision (needs a CPU with native bf16); for "openvino-int8" that
    is the precision of the ops int8 leaves unquantized (attention, softmax, norms). It stays
    opt-in for int8: ~1.1-1.3x faster, but MiniLM dense retrieval on SciFact lost 0.026
    nDCG@10 with it (0.6227 vs 0.6487 with fp32 ops; benchmarks/int8_cpu.py)."""
    import transformers

    from rankify_lite.models import loader

    if device not in (None, "cpu"):
        raise InputError(f"backend {backend!r} runs on the CPU, not on {device!r}.",
                         fix="drop device=, or use backend='torch' on a GPU.")
    precision = "f32"
    if dtype not in (None, "auto"):
        name = loader.dtype_name(loader.pick_dtype(dtype, "cpu"))
        if name == "bfloat16":
            if not has_native_bf16():
                raise InputError(f"dtype={dtype!r} with backend {backend!r} needs a CPU with "
                                 "native bf16 (AVX512-BF16 or AMX); this one has none.",
                                 fix="drop dtype= (fp32), or use backend='openvino-int8' or "
                                     "backend='torch'; a saved result that ran bf16 reruns on "
                                     "a CPU with native bf16, or run it again with --exact "
                                     "(the reference path, torch fp32).")
            precision = "bf16"
        elif name != "float32":
            raise InputError(f"backend {backend!r} runs fp32 or bf16, not dtype={dtype!r}.",
                             fix="drop dtype=, or pass dtype='bf16'.")
    require_openvino()
    tokenizer = loader.from_pretrained(transformers.AutoTokenizer, model, revision)
    config = loader.from_pretrained(transformers.AutoConfig, model, revision)
    resolved = loader.resolved_revision(model, revision)
    limit = getattr(config, "max_position_embeddings", None)
    runner = OpenVinoModel(auto_cls, model, resolved, backend, task, tokenizer, config,
                           threads=threads, precision=precision, max_width=limit)
    return tokenizer, config, runner, resolved
