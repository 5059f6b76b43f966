"""LLM rerankers on llama.cpp, in process (``engine="llamacpp"``; ``pip install
'rankify-lite[llamacpp]'``): GGUF files, quantised weights, CPU.

Prompts are our token ids: the tokenizer is a Hugging Face tokenizer (by default the one
transformers builds from the GGUF file itself, ``AutoTokenizer.from_pretrained(dir,
gguf_file=name)``; or ``tokenizer=`` the model's Hugging Face id), checked at start-up to give
the same ids as llama.cpp's own vocabulary on a probe text, and llama.cpp evaluates exactly
those ids (``Llama.eval``), never re-tokenizing.

* **Next-token values** (FIRST, pointwise): one evaluation per prompt, the fp32 logits of the
  last position read straight from the context, restricted to the requested ids. Consecutive
  prompts that share a prefix (the system prompt and query of a query's windows) reuse its KV
  cache (``reuse_prefix``): only the new suffix is evaluated.
* **Generation** (listwise): greedy (argmax of the fp32 logits), end-of-generation tokens
  suppressed until ``min_new_tokens``, cut at the first EOS as the other engines do.

``model`` is a ``.gguf`` path, or a Hugging Face id / local folder with ``gguf_file=`` naming
the file in it. The revision recorded is the hub snapshot, or a fingerprint of the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.rerankers.engines.llm_backend import Generation, NextTokenLogits
from rankify_lite.rerankers.engines.tokenizer_side import TokenizerSide, check_prompts, load_tokenizer

#: checked at start-up: our tokenizer and llama.cpp's vocabulary must give the same ids
PROBE = "Rank the passages [1] > [2]: relevance of 'photosynthesis' to Query:?"
DEFAULT_CONTEXT = 4096


def resolve_gguf(model: str, gguf_file: str | None, revision: str | None) -> tuple[Path, str | None]:
    """(path of the GGUF file, revision) for a file path, a folder or a hub id + file name."""
    from rankify_lite.cache import content_key

    def fingerprint(path: Path) -> str:
        st = path.stat()
        return "file-" + content_key(str(path.resolve()), st.st_size, st.st_mtime_ns)

    path = Path(os.path.expanduser(model))
    if path.is_file():
        return path, fingerprint(path)
    if gguf_file is None:
        raise InputError(f"{model!r} is not a GGUF file.",
                         fix="pass model= a .gguf path, or a Hugging Face id / folder with "
                             "gguf_file='NAME.gguf'.")
    if path.is_dir():
        found = path / gguf_file
        if not found.is_file():
            raise InputError(f"folder {model!r} has no {gguf_file!r}.", path=str(found),
                             fix="check gguf_file= against the folder's files.")
        return found, fingerprint(found)
    from huggingface_hub import hf_hub_download

    try:
        local = hf_hub_download(model, gguf_file, revision=revision, local_files_only=True)
    except Exception:  # noqa: BLE001 - not cached: try the hub unless offline
        if os.environ.get("HF_HUB_OFFLINE"):
            raise InputError(f"{model}/{gguf_file} is not in the Hugging Face cache and the hub "
                             "is offline (HF_HUB_OFFLINE).",
                             fix="pass a local .gguf path as model=.") from None
        local = hf_hub_download(model, gguf_file, revision=revision)
    local_path = Path(local)
    rev = local_path.parent.name if local_path.parent.parent.name == "snapshots" else revision
    return local_path, rev


class LlamaCppBackend(TokenizerSide):
    """``LlamaCppBackend("model.Q4_1.gguf")`` or ``LlamaCppBackend("org/name-GGUF",
    gguf_file="model.Q4_K_M.gguf")``; ``llama=`` a ready ``llama_cpp.Llama`` (then
    ``tokenizer=`` too).

    Tuning (speed; see ``benchmarks/llamacpp_tuning.py``): ``n_threads`` (generation) and
    ``n_threads_batch`` (prompt processing, default ``n_threads``); ``n_batch`` (tokens per
    ``eval`` chunk) and ``n_ubatch`` (tokens per compute pass, llama.cpp's default
    ``min(n_batch, 512)``); ``flash_attn`` (llama.cpp's fused attention, off by default: 1.2x
    faster FIRST on an F32 GGUF with the same orderings in that benchmark, but no faster on
    Q4_1, where it moved an ordering in the engine's test; its sums are in another order, so
    it is recorded in ``config()`` with ``n_ubatch``). The defaults of the
    rest measured fastest there; on a CPU with native bf16 a BF16 GGUF is the fast file that
    keeps fp32's orderings (docs/how-to/llm-engines.md)."""

    def __init__(self, model: str | None = None, *, gguf_file: str | None = None,
                 tokenizer: Any = None, revision: str | None = None,
                 max_context: int | None = None, n_threads: int | None = None,
                 n_batch: int = 512, seed: int = 0, reuse_prefix: bool = True,
                 n_threads_batch: int | None = None, n_ubatch: int | None = None,
                 flash_attn: bool = False, llama: Any = None) -> None:
        from rankify_lite.models.adapters import refuse_folder

        refuse_folder(model, "llamacpp", "merge the adapter into its base (engine='transformers' "
                      "does so on load), convert the merged model to GGUF and pass that file.")
        llama_cpp = require("llama_cpp", extra="llamacpp", feature="the llama.cpp LLM engine")
        self.path: Path | None = None
        if llama is None:
            if not model:
                raise InputError("the llamacpp engine needs model= (a .gguf file, or a hub id "
                                 "/ folder with gguf_file=) or llama= (a ready llama_cpp.Llama).",
                                 fix="pass one of them.")
            self.path, self.revision = resolve_gguf(str(model), gguf_file, revision)
            for name, value in (("n_threads", n_threads), ("n_batch", n_batch),
                                ("n_threads_batch", n_threads_batch), ("n_ubatch", n_ubatch)):
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                          or value < 1):
                    raise InputError(f"llama.cpp option {name} must be a whole number >= 1, "
                                     f"got {value!r}.", fix=f"e.g. {name}=512 for a batch, "
                                                            "2 for threads; or leave it unset.")
            threads = int(n_threads or _default_threads())
            tuning = {"n_ubatch": int(n_ubatch)} if n_ubatch else {}
            llama = llama_cpp.Llama(model_path=str(self.path), n_ctx=int(max_context or
                                                                         DEFAULT_CONTEXT),
                                    n_batch=int(n_batch), n_threads=threads,
                                    n_threads_batch=int(n_threads_batch or threads),
                                    flash_attn=bool(flash_attn), seed=int(seed),
                                    logits_all=False, verbose=False, **tuning)
        else:
            if tokenizer is None:
                raise InputError("llama= was given without tokenizer=.",
                                 fix="pass tokenizer= the model's Hugging Face id or folder.")
            self.revision = revision
        self.llama = llama
        self.model_id = str(model or getattr(llama, "model_path", "llama.cpp"))
        self.gguf_file = self.path.name if self.path is not None else gguf_file
        if tokenizer is None:
            tokenizer = self._gguf_tokenizer()
        self.tokenizer = load_tokenizer(tokenizer, revision=revision, engine="llamacpp")
        self.max_context = int(llama.n_ctx())
        self.n_vocab = int(llama.n_vocab())
        self.reuse_prefix = bool(reuse_prefix)
        ctx = getattr(llama, "context_params", None)  # what llama.cpp runs with (also llama=)
        self.n_threads = getattr(ctx, "n_threads", n_threads)
        self.n_ubatch = getattr(ctx, "n_ubatch", n_ubatch)
        kind = getattr(ctx, "flash_attn_type", None)  # 1 enabled, 0 disabled, -1 auto
        self.flash_attn = bool(flash_attn) if kind is None else int(kind) == 1
        self.eog = self._end_tokens()
        self._check_vocabulary()
        self.evaluated_tokens = 0  # tokens llama.cpp evaluated (prefix reuse skips the rest)

    def _gguf_tokenizer(self) -> Any:
        transformers = require("transformers", extra="llamacpp",
                               feature="the llama.cpp engine's tokenizer")
        require("gguf", extra="llamacpp", feature="reading the tokenizer from a GGUF file")
        assert self.path is not None
        return transformers.AutoTokenizer.from_pretrained(str(self.path.parent),
                                                          gguf_file=self.path.name)

    def _end_tokens(self) -> set[int]:
        ids = {int(self.llama.token_eos())}
        eos = getattr(self.tokenizer, "eos_token_id", None)
        if eos is not None:
            ids.add(int(eos))
        return {i for i in ids if i >= 0}

    def _check_vocabulary(self) -> None:
        ours = self.encode(PROBE)
        theirs = list(self.llama.tokenize(PROBE.encode("utf-8"), add_bos=False, special=True))
        if ours != theirs or len(self.tokenizer) > self.n_vocab:
            raise InputError(f"the tokenizer ({type(self.tokenizer).__name__}, "
                             f"{len(self.tokenizer)} tokens) does not give llama.cpp's ids for "
                             f"this GGUF ({self.n_vocab} tokens): {ours[:8]} vs {theirs[:8]}.",
                             fix="pass tokenizer= the Hugging Face id the GGUF was converted "
                                 "from, or leave it unset to read the GGUF's own.")

    def config(self) -> dict[str, Any]:
        import llama_cpp

        meta = getattr(self.llama, "metadata", {}) or {}
        return {"backend": "llamacpp", "model": self.model_id, "gguf_file": self.gguf_file,
                "revision": self.revision, "file_type": meta.get("general.file_type"),
                "llama_cpp_python": llama_cpp.__version__, "max_context": self.max_context,
                "chat_template": self.has_chat_template, "flash_attn": self.flash_attn,
                "n_ubatch": None if self.n_ubatch is None else int(self.n_ubatch),
                "next_token_logits": "llama.cpp last-position logits (fp32)"}

    # -- evaluation ----------------------------------------------------------------------------
    def _evaluate(self, ids: list[int]) -> np.ndarray:
        """Evaluate ``ids`` (reusing the cached common prefix) and return the last logits."""
        if len(ids) >= self.max_context:
            raise InputError(f"a prompt of {len(ids)} tokens does not fit the llama.cpp context "
                             f"({self.max_context}).", fix="raise max_context= or shorten the "
                                                           "window / passages.")
        keep = 0
        if self.reuse_prefix:
            cached = self.llama.input_ids[:self.llama.n_tokens]
            limit = min(len(cached), len(ids) - 1)  # at least one token is evaluated
            while keep < limit and cached[keep] == ids[keep]:
                keep += 1
        self.llama.n_tokens = keep
        self.llama.eval(ids[keep:])
        self.evaluated_tokens += len(ids) - keep
        return self._last_logits()

    def _last_logits(self) -> np.ndarray:
        ptr = self.llama._ctx.get_logits_ith(-1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).astype(np.float32, copy=True)

    def next_token_logits(self, prompts: Sequence[Sequence[int]],
                          token_ids: Sequence[int]) -> NextTokenLogits:
        wanted = np.asarray([int(t) for t in token_ids], dtype=np.int64)
        if len(wanted) and (wanted.min() < 0 or wanted.max() >= self.n_vocab):
            raise InputError(f"token ids {token_ids} fall outside the GGUF's vocabulary "
                             f"({self.n_vocab}).", fix="build them with this backend's encode().")
        ids = check_prompts(prompts)
        values = np.zeros((len(ids), len(wanted)), dtype=np.float32)
        for row, p in enumerate(ids):
            values[row] = self._evaluate(p)[wanted]
        return NextTokenLogits(values, tuple(len(p) for p in ids))

    def generate(self, prompts: Sequence[Sequence[int]], max_new_tokens: int,
                 min_new_tokens: int = 0,
                 stop_when: Callable[[str], bool] | None = None) -> list[Generation]:
        out = []
        floor = min(int(min_new_tokens), int(max_new_tokens))
        for p in check_prompts(prompts):
            logits = self._evaluate(p)
            toks: list[int] = []
            while len(toks) < max_new_tokens:
                if len(toks) < floor and self.eog:
                    logits[list(self.eog)] = -np.inf
                tok = int(np.argmax(logits))
                if tok in self.eog:
                    break
                toks.append(tok)
                if len(toks) == max_new_tokens or len(p) + len(toks) >= self.max_context:
                    break
                if stop_when is not None and stop_when(
                        self.tokenizer.decode(toks, skip_special_tokens=True)):
                    break
                self.llama.eval([tok])
                self.evaluated_tokens += 1
                logits = self._last_logits()
            text = self.tokenizer.decode(toks, skip_special_tokens=True)
            out.append(Generation(text, len(p), len(toks)))
        return out


def _default_threads() -> int:
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:
        return os.cpu_count() or 1
