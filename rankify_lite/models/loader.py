"""The one model loader: every family that runs Hugging Face weights in-process loads them here.

``load(auto_cls, model, ...)`` gives a :class:`Loaded` (model in eval mode on its device,
tokenizer, device, dtype, resolved revision) for encoders, cross-encoders, causal LMs and
seq2seq models alike:

* **device**: ``None`` -> ``"cuda"`` when a GPU is visible (else ``"mps"``, else ``"cpu"``);
  any torch device string (``"cuda:1"``) is taken as given, checked for existence;
* **dtype**: ``None`` / ``"auto"`` -> fp32 on CPU, bf16 on GPUs that support it (else fp16);
  ``"float32"``/``"fp32"``, ``"bfloat16"``/``"bf16"``, ``"float16"``/``"fp16"`` or a
  ``torch.dtype``; anything else is one InputError listing these;
* **revision**: passed through to ``from_pretrained`` (a branch, tag or commit pins weights);
* **offline first**: the local Hugging Face cache is tried before the hub, and the hub is not
  asked at all under ``HF_HUB_OFFLINE=1``; a missing model is an InputError naming the fix;
* **attention**: ``"sdpa"`` (falls back to the architecture's default where it has no SDPA),
  ``"eager"`` (attention weights exposed, as ICR needs) or ``None`` (the default);
* **resolved revision**: the snapshot hash of a cached hub model, or for a local folder a
  fingerprint of its files (names, sizes, modification times, and the first and last bytes of
  weight files), so a cache key changes when the weights do;
* **PEFT adapters**: a folder or hub id holding ``adapter_config.json`` loads its base
  (``base_model=``, else the one the adapter config names) and merges the adapter in
  (:mod:`rankify_lite.models.adapters`; ``pip install 'rankify-lite[peft]'``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.models.local_weights import WEIGHT_SUFFIXES as _WEIGHT_SUFFIXES
from rankify_lite.models.local_weights import hub_offline

log = logging.getLogger(__name__)

OFFLINE_FIX = ("give a local folder holding the model (config.json, weights, tokenizer), or "
               "install it into the Hugging Face cache (python scripts/install_offline_models.py "
               "for the models it knows), or allow network access (unset HF_HUB_OFFLINE).")
#: accepted dtype names -> torch attribute
DTYPE_NAMES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16",
               "bf16": "bfloat16", "float16": "float16", "fp16": "float16"}
ATTENTIONS = ("sdpa", "eager", None)
_EDGE_BYTES = 1 << 16  # bytes hashed at each end of a weights file


_offline = hub_offline


# ---- files of a model ----------------------------------------------------------------------
def model_file(model: str, filename: str, revision: str | None = None) -> Path | None:
    """Local path of ``filename`` from a folder or hub id (cache first, then hub); None if the
    model has no such file."""
    if os.path.isdir(model):
        p = Path(model) / filename
        return p if p.is_file() else None
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(model, filename, revision=revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached (or no such file): try the hub below
        pass
    if _offline():
        return None
    try:
        return Path(hf_hub_download(model, filename, revision=revision))
    except Exception:  # noqa: BLE001 - the file does not exist in that repo
        return None


def model_json(model: str, filename: str, revision: str | None = None) -> dict[str, Any] | None:
    path = model_file(model, filename, revision)
    if path is None:
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _fingerprint(folder: Path) -> str:
    """Names, sizes and mtimes of a folder's files (two levels, hidden folders skipped), plus
    the first and last bytes of weight files."""
    from rankify_lite.cache import content_key

    parts = []
    for p in sorted([*folder.glob("*"), *folder.glob("[!.]*/*")]):
        if not p.is_file():
            continue
        st = p.stat()
        part = f"{p.relative_to(folder).as_posix()}:{st.st_size}:{st.st_mtime_ns}"
        if p.suffix in _WEIGHT_SUFFIXES:
            h = hashlib.sha256()
            with p.open("rb") as fh:
                h.update(fh.read(_EDGE_BYTES))
                if st.st_size > 2 * _EDGE_BYTES:
                    fh.seek(-_EDGE_BYTES, os.SEEK_END)
                h.update(fh.read(_EDGE_BYTES))
            part += ":" + h.hexdigest()[:16]
        parts.append(part)
    return "local-" + content_key(str(folder), parts)


def resolved_revision(model: str, revision: str | None = None) -> str | None:
    """The snapshot hash of a cached hub model; for a local folder, a fingerprint of its files
    (see :func:`_fingerprint`) so caches notice replaced weights; else ``revision``."""
    if os.path.isdir(model):
        return _fingerprint(Path(model).resolve())
    path = model_file(model, "config.json", revision)
    if path is not None and path.parent.parent.name == "snapshots":
        return path.parent.name
    return revision


def object_revision(model: Any, revision: str | None = None) -> str | None:
    """The revision of an already-built model object: ``revision`` if given, else the folder
    fingerprint or hub commit it was loaded from (None for a model built in memory)."""
    if revision is not None:
        return revision
    cfg = getattr(model, "config", None)
    name = str(getattr(cfg, "_name_or_path", "") or "")
    if name and os.path.isdir(name):
        return resolved_revision(name)
    return getattr(cfg, "_commit_hash", None)


def model_name(model: Any) -> str:
    """The id of a model given as a hub id / folder, or as a built model object."""
    if isinstance(model, str | os.PathLike):
        return str(model)
    return str(getattr(getattr(model, "config", None), "_name_or_path", "") or
               type(model).__name__)


ADAPTER_FIX = ("load it with the torch backend (the base is loaded and the adapter merged in), or "
               "merge it yourself (peft: PeftModel.from_pretrained(base, adapter)"
               ".merge_and_unload().save_pretrained(folder)) and pass that folder.")
FIX_WEIGHTS = ("download the model again (delete it from the Hugging Face cache first) or "
               "save it again with save_pretrained.")


@contextlib.contextmanager
def _no_load_bars() -> Iterator[None]:
    """No transformers progress bars (its "Loading weights" bar, one per checkpoint file and
    per component) while a model loads from local files; bars shown before are shown after.
    Downloads (the hub route below) keep their bars."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - every caller has transformers
        yield
        return
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def from_pretrained(cls: Any, model: str, revision: str | None = None, **kwargs: Any) -> Any:
    """``cls.from_pretrained`` trying the local cache first (no network round trips when the
    model is cached), then the hub; a missing model becomes an InputError with the fix."""
    from rankify_lite.models.weights_check import check_weights, unpickling_error

    if os.path.isdir(model) and not (Path(model) / "config.json").is_file():
        if (Path(model) / "adapter_config.json").is_file():
            raise InputError(f"folder {model!r} holds a PEFT adapter (adapter_config.json), "
                             "not a full model, and this path loads full models only.",
                             path=model, fix=ADAPTER_FIX)
        raise InputError(f"folder {model!r} holds no config.json, so it is not a Hugging Face "
                         "model folder", path=model, fix=OFFLINE_FIX)
    check_weights(model)  # a local folder: a cut weight file is named before anything loads
    import warnings

    try:
        with warnings.catch_warnings(), _no_load_bars():  # a raw pickle: torch warns, then
            warnings.filterwarnings("ignore", message="Detected pickle protocol")  # refuses it
            return cls.from_pretrained(model, revision=revision, local_files_only=True,
                                       **kwargs)
    except Exception as first:
        if type(first).__name__ == "SafetensorError":  # a cut file in the hub cache
            cached = model_file(model, "config.json", revision)
            if cached is not None:
                check_weights(cached.parent)
            raise InputError(f"cannot load model {model!r}: incomplete or corrupt weights "
                             f"({first}).", fix=FIX_WEIGHTS) from first
        if type(first).__name__ == "UnpicklingError":  # torch.load(weights_only=True) refused it
            raise unpickling_error(model, first) from None
        if not isinstance(first, OSError):
            raise
        if os.path.isdir(model) or _offline():
            raise InputError(f"cannot load model {model!r}: {first}", fix=OFFLINE_FIX) from first
    try:
        return cls.from_pretrained(model, revision=revision, **kwargs)
    except OSError as exc:
        raise InputError(f"cannot load model {model!r}: {exc}", fix=OFFLINE_FIX) from exc


# ---- device and dtype ----------------------------------------------------------------------
def pick_device(device: str | None) -> str:
    """``None`` -> cuda if available (else mps, else cpu); a named device is checked."""
    import torch

    if device:
        try:
            parsed = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise InputError(f"unknown device {device!r} ({exc}).",
                             fix="use 'cpu', 'cuda', 'cuda:1', 'mps', or leave it unset.") from exc
        if parsed.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device {device!r} asked for, but torch sees no CUDA GPU.",
                             fix="use device='cpu', or leave device unset to pick one.")
        return str(device)
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(dtype: Any, device: str) -> Any:
    """A ``torch.dtype`` from a name, a torch dtype, or None / "auto" (the device's default:
    fp32 on CPU, bf16 on GPUs that support it, else fp16)."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None or dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.startswith("mps"):
            return torch.float16
        return torch.float32
    name = DTYPE_NAMES.get(str(dtype).lower().replace("torch.", ""))
    if name is None:
        raise InputError(f"unknown dtype {dtype!r}.",
                         fix="use 'auto', 'float32' (fp32), 'bfloat16' (bf16), 'float16' "
                             "(fp16) or a torch dtype.")
    return getattr(torch, name)


def dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


# ---- loading -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Loaded:
    """A loaded model: eval mode, on ``device`` in ``dtype``; ``revision`` is resolved."""

    model: Any
    tokenizer: Any
    device: str
    dtype: Any  # torch.dtype
    revision: str | None
    adapter: Any = None  # rankify_lite.models.adapters.Adapter when model was a PEFT adapter


def _load_weights(auto_cls: Any, model: str, revision: str | None, attention: str | None,
                  **kwargs: Any) -> Any:
    if attention is None:
        return from_pretrained(auto_cls, model, revision, **kwargs)
    try:
        return from_pretrained(auto_cls, model, revision, attn_implementation=attention,
                               **kwargs)
    except (ValueError, ImportError) as exc:
        if attention == "eager":
            raise
        log.info("SDPA attention unavailable for %s (%s); using the default attention",
                 model, exc)
        return from_pretrained(auto_cls, model, revision, **kwargs)


def load(auto_cls: Any, model: Any, *, revision: str | None = None, device: str | None = None,
         dtype: Any = None, attention: str | None = "sdpa", tokenizer: Any = None,
         tokenizer_cls: Any = None, trust_remote_code: bool = False,
         base_model: str | None = None) -> Loaded:
    """Load ``model`` (hub id or local folder) with ``auto_cls`` (e.g. ``AutoModelForCausalLM``)
    and its tokenizer (``tokenizer_cls``, default ``AutoTokenizer``; skipped when ``tokenizer``
    is given). ``model`` may also be a built ``PreTrainedModel`` (then ``tokenizer`` is
    required): it is moved to the device and dtype, its revision read from its config.

    A ``model`` holding ``adapter_config.json`` is a PEFT adapter: its base (``base_model``, else
    the adapter config's) is loaded and the adapter merged in (:mod:`.adapters`); ``revision``
    is then the adapter's, and ``Loaded.adapter`` says what was merged into what."""
    if attention not in ATTENTIONS:
        raise InputError(f"unknown attention {attention!r}.", fix="use 'sdpa', 'eager' or None.")
    device = pick_device(device)
    torch_dtype = pick_dtype(dtype, device)
    if not isinstance(model, str | os.PathLike):
        if base_model is not None:
            raise InputError("base_model= was given with a built model object.",
                             fix="pass the adapter's folder or id as model=, or drop base_model=.")
        if tokenizer is None:
            raise InputError("a model object was given without its tokenizer.",
                             fix="pass tokenizer=... alongside the model.")
        net = model.to(torch_dtype).to(device).eval()
        return Loaded(net, tokenizer, device, torch_dtype, object_revision(net, revision))
    model = str(model)
    from rankify_lite.models import adapters

    adapter = adapters.find(model, revision, base_model)
    if adapter is not None:
        adapters.require_peft()  # before the base's weights load
    extra = {"trust_remote_code": True} if trust_remote_code else {}
    if tokenizer is None:
        import transformers

        tok_cls = tokenizer_cls or transformers.AutoTokenizer
        tokenizer = (from_pretrained(tok_cls, model, revision, **extra) if adapter is None
                     else adapters.load_tokenizer(adapter, tok_cls, **extra))
    if adapter is None:
        net = _load_weights(auto_cls, model, revision, attention, dtype=torch_dtype, **extra)
        net = net.to(device).eval()
        return Loaded(net, tokenizer, device, torch_dtype, resolved_revision(model, revision))
    net = _load_weights(auto_cls, adapter.base_model, adapter.base_revision, attention,
                        dtype=torch_dtype, **extra)
    net = adapters.merge(net.to(device), adapter).to(device).eval()
    return Loaded(net, tokenizer, device, torch_dtype, adapter.revision, adapter)

