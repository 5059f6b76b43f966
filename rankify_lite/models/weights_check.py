"""Weight files that were cut short (an interrupted copy or download) named before loading,
and pickled weight files that are not plain tensors named when torch refuses them.

A ``.safetensors`` file is an 8-byte little-endian header length, a JSON header and the tensor
bytes; the header's ``data_offsets`` say how long the data must be. Reading the header alone
(a few KB) tells a complete file from a cut or garbled one, so a truncated file is reported as
"incomplete or corrupt weights" with its path instead of a ``SafetensorError`` traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

from rankify_lite.errors import InputError

FIX = ("the file was cut or damaged (an interrupted download or copy): download the model again "
       "(e.g. 'hf download MODEL', or delete it from the Hugging Face cache) or save it again "
       "with save_pretrained.")


def safetensors_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete safetensors file, or None when it is."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            return f"it has {size} bytes, fewer than the 8-byte header length"
        n = int.from_bytes(head, "little")
        if 8 + n > size:
            return f"its header needs {n} bytes but the file has only {size - 8} after the length"
        try:
            header = json.loads(fh.read(n))
            ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return "its header is not valid safetensors metadata"
    need = 8 + n + max(ends, default=0)
    if need != size:
        return f"its tensors need {need} bytes but the file has {size}"
    return None


def check_weights(folder: str | Path) -> None:
    """An InputError naming the first incomplete or corrupt ``.safetensors`` file in ``folder``
    (and its subfolders, as sentence-transformers models keep modules in them)."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*.safetensors")):
        if not path.is_file():
            continue
        problem = safetensors_problem(path)
        if problem is not None:
            raise InputError(f"incomplete or corrupt weights: {problem}.", path=path, fix=FIX)


PICKLE_FIX = ("use the model's .safetensors weights (or save it again with save_pretrained, "
              "which writes them); a pickle that is not plain tensors is refused because "
              "loading it could run code.")


def unpickling_error(model: str, exc: BaseException) -> InputError:
    """One line for torch.load(weights_only=True) refusing a pickled weights file (its message
    is a page long): which file, and that it is not plain tensors."""
    folder = Path(model)
    files = sorted(p for ext in ("*.bin", "*.pt", "*.pth", "*.ckpt")
                   for p in folder.rglob(ext)) if folder.is_dir() else []
    cause = next((ln.strip() for ln in str(exc).splitlines()
                  if ln.strip() and not ln.startswith(("Weights only", "Please", "Check"))), "")
    named = files[0] if len(files) == 1 else folder
    what = f"the weights file holds a pickle that is not plain tensors ({cause or 'refused'})"
    return InputError(f"cannot load model {model!r}: {what}.", path=named, fix=PICKLE_FIX)
