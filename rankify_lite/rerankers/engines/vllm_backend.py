"""LLM rerankers on an in-process vLLM engine (``engine="vllm"``; ``pip install 'rankify-lite[vllm]'``).

Prompts are our token ids (``TokensPrompt``), so BOS and chat template are exactly ours. Every
call submits all its prompts to the engine at once (a whole sliding-window step of every query
in the batch), and vLLM schedules them together.

* **Next-token values** (FIRST, pointwise): one greedy token with the log-probs of exactly the
  requested ids (``SamplingParams.logprob_token_ids``; on a vLLM without it, ``logprobs=k`` over
  ``allowed_token_ids`` with the engine in a ``processed_*`` log-prob mode). vLLM computes
  log-probs in fp32. The engine's ``max_logprobs`` must cover the number of ids (a window of
  20 needs 20): it is set when the engine is made here, and checked with a clear error when a
  ready engine is passed in (``llm=``).
* **Generation** (listwise): ``temperature=0``, ``max_tokens``, ``min_tokens``.
* ``tensor_parallel_size``, ``gpu_memory_utilization`` and ``max_model_len`` go to the engine
  (on a CPU build ``gpu_memory_utilization`` is the share of RAM it reserves); any other
  ``vllm.EngineArgs`` field goes in ``engine_args={...}`` (e.g. ``{"enable_prefix_caching":
  False}``), checked against the installed vLLM's fields before the engine is made.
* **PEFT LoRA adapters**: a ``model`` holding ``adapter_config.json`` is served as its base
  (``base_model=``, else the adapter config's) with ``enable_lora=True`` and a ``LoRARequest``
  on every generate call (:func:`lora_setup`); a ready engine (``llm=``) must have LoRA enabled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from rankify_lite.errors import InputError, require
from rankify_lite.rerankers.engines.llm_backend import Generation, NextTokenLogits
from rankify_lite.rerankers.engines.tokenizer_side import TokenizerSide, check_prompts, load_tokenizer

#: options VLLMBackend takes by name (not accepted inside engine_args)
_NAMED = ("model", "tokenizer", "revision", "dtype", "max_model_len", "tensor_parallel_size",
          "gpu_memory_utilization", "max_logprobs", "enforce_eager", "seed", "base_model")
#: identifiers [A]..[Z] plus room: the engine's log-prob cap when this module makes the engine
DEFAULT_MAX_LOGPROBS = 32


def sampling_fields() -> set[str]:
    vllm = require("vllm", extra="vllm", feature="the vLLM LLM engine")
    params = vllm.SamplingParams
    fields = getattr(params, "__struct_fields__", None) or getattr(params, "__annotations__", {})
    return set(fields)


def engine_arg_fields() -> set[str] | None:
    """The names ``vllm.LLM(**kwargs)`` passes on to ``EngineArgs`` (None: unknown here)."""
    try:
        from vllm.engine.arg_utils import EngineArgs
    except ImportError:
        return None
    return {f.name for f in dataclasses.fields(EngineArgs)} if \
        dataclasses.is_dataclass(EngineArgs) else None


#: the LoRA ranks vLLM's ``max_lora_rank`` accepts
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def lora_setup(adapter: Any) -> tuple[dict[str, Any], Any]:
    """(engine arguments, ``LoRARequest``) that serve ``adapter`` on its base model: the base
    as the engine's model, ``enable_lora`` and a ``max_lora_rank`` that holds the adapter's."""
    import json

    from vllm.lora.request import LoRARequest

    rank = int(json.loads((adapter.folder / "adapter_config.json").read_text(
        encoding="utf-8")).get("r") or 16)
    fits = [r for r in LORA_RANKS if r >= rank]
    if not fits:
        raise InputError(f"adapter {adapter.model!r} has LoRA rank {rank}, above vLLM's "
                         f"largest max_lora_rank {LORA_RANKS[-1]}.",
                         fix="use engine='transformers', which merges the adapter.")
    args = {"model": adapter.base_model, "revision": adapter.base_revision,
            "enable_lora": True, "max_lora_rank": fits[0], "max_loras": 1}
    return args, LoRARequest("adapter", 1, str(adapter.folder))


def _lora_enabled(llm: Any) -> bool:
    engine = getattr(llm, "llm_engine", None)
    cfg = getattr(engine, "vllm_config", None)
    return getattr(cfg, "lora_config", None) is not None


def _check_engine_args(engine_args: Mapping[str, Any], named: Sequence[str]) -> dict[str, Any]:
    if not isinstance(engine_args, Mapping):
        raise InputError(f"engine_args must be a dict of vllm.EngineArgs fields, not "
                         f"{type(engine_args).__name__}.",
                         fix="e.g. engine_args={'enable_prefix_caching': False}.")
    args = dict(engine_args)
    clash = sorted(set(args) & set(named))
    if clash:
        raise InputError(f"engine_args repeats option(s) {', '.join(clash)} that VLLMBackend "
                         "takes by name.", fix=f"pass {', '.join(clash)} as keyword "
                                               "argument(s), not inside engine_args.")
    known = engine_arg_fields()
    unknown = sorted(set(args) - known) if known is not None else []
    if unknown:
        raise InputError(f"engine_args has {', '.join(unknown)}, which this vLLM's EngineArgs "
                         "does not take.", fix="check the names against vllm.EngineArgs of "
                                               "the installed vLLM version.")
    return args


class VLLMBackend(TokenizerSide):
    """``VLLMBackend("castorini/first_mistral", tensor_parallel_size=2)`` or ``VLLMBackend(llm=LLM(...))``."""

    def __init__(self, model: str | None = None, *, llm: Any = None, tokenizer: Any = None,
                 revision: str | None = None, dtype: str | None = None,
                 max_model_len: int | None = None, max_context: int | None = None,
                 tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.9,
                 max_logprobs: int = DEFAULT_MAX_LOGPROBS, enforce_eager: bool = False,
                 seed: int = 0, engine_args: Mapping[str, Any] | None = None,
                 base_model: str | None = None) -> None:
        vllm = require("vllm", extra="vllm", feature="the vLLM LLM engine")
        from rankify_lite.models import adapters

        self._fields = sampling_fields()
        self._by_token_ids = "logprob_token_ids" in self._fields
        self.adapter = adapters.find(str(model), revision, base_model) if model else None
        self._lora: Any = None
        if self.adapter is not None and llm is not None and not _lora_enabled(llm):
            raise InputError(f"model {model!r} is a PEFT adapter, but the ready engine (llm=) "
                             "has no LoRA enabled.", fix="drop llm= (the engine is then made "
                             "with enable_lora=True), or make it with vllm.LLM(<base>, "
                             "enable_lora=True).")
        tok_revision = revision
        if self.adapter is not None:
            lora_args, self._lora = lora_setup(self.adapter)
            if tokenizer is None:
                own = self.adapter.has_tokenizer
                tokenizer = str(self.adapter.folder if own else self.adapter.base_model)
                tok_revision = None if own else self.adapter.base_revision
        if llm is None:
            if not model:
                raise InputError("the vllm engine needs model= (a Hugging Face id or folder) "
                                 "or llm= (a ready vllm.LLM).", fix="pass one of them.")
            extra = _check_engine_args(engine_args or {}, _NAMED)
            args: dict[str, Any] = {
                "model": model, "tokenizer": tokenizer if isinstance(tokenizer, str) else None,
                "revision": revision, "dtype": dtype or "auto",
                "max_model_len": max_model_len or max_context,
                "tensor_parallel_size": int(tensor_parallel_size),
                "gpu_memory_utilization": float(gpu_memory_utilization),
                "max_logprobs": int(max_logprobs), "enforce_eager": bool(enforce_eager),
                "seed": int(seed), **extra}
            if self.adapter is not None:
                args.update({k: v for k, v in lora_args.items() if k not in extra})
            if not self._by_token_ids:
                args.setdefault("logprobs_mode", "processed_logprobs")
            llm = vllm.LLM(**{k: v for k, v in args.items() if v is not None})
        elif engine_args:
            raise InputError("engine_args= was given with a ready engine (llm=): it would be "
                             "ignored.", fix="pass the arguments to vllm.LLM(...) instead.")
        self.llm = llm
        self.model_id = model or str(self._model_config("model", "vllm-engine"))
        # the resolved snapshot (or local-folder fingerprint) keys caches, as for transformers
        from rankify_lite.models.loader import resolved_revision

        self.revision = (self.adapter.revision if self.adapter is not None
                         else resolved_revision(model, revision) if model else revision)
        self.engine_settings = {"tensor_parallel_size": int(tensor_parallel_size),
                                "gpu_memory_utilization": float(gpu_memory_utilization),
                                "dtype": str(self._model_config("dtype", dtype or "auto"))}
        self.tokenizer = load_tokenizer(tokenizer or self.llm.get_tokenizer(),
                                        revision=tok_revision, engine="vllm")
        engine_len = self._model_config("max_model_len", None)
        self.max_context = int(min(x for x in (engine_len, max_context, max_model_len, 10 ** 9)
                                   if x))
        self.max_logprobs = int(self._model_config("max_logprobs", max_logprobs))
        self._mode = str(self._model_config("logprobs_mode", "raw_logprobs"))

    def _model_config(self, name: str, default: Any) -> Any:
        try:
            cfg = self.llm.llm_engine.model_config
        except AttributeError:
            return default
        return getattr(cfg, name, default)

    def config(self) -> dict[str, Any]:
        from rankify_lite.models import adapters

        return {"backend": "vllm", "model": self.model_id, "revision": self.revision,
                **adapters.provenance(self.adapter), **self.engine_settings, "max_context": self.max_context,
                "chat_template": self.has_chat_template,
                "next_token_logits": ("vLLM log-probs of the requested ids (fp32)"
                                      if self._by_token_ids else
                                      f"vLLM top-k log-probs over allowed ids ({self._mode})")}

    # -- requests ------------------------------------------------------------------------------
    def _generate(self, inputs: list[Any], params: Any) -> Any:
        """One ``llm.generate`` call (with the adapter's ``LoRARequest`` when serving one)."""
        lora = {} if self._lora is None else {"lora_request": self._lora}
        return self.llm.generate(inputs, params, use_tqdm=False, **lora)

    def _token_prompts(self, prompts: Sequence[Sequence[int]]) -> list[Any]:
        from vllm.inputs import TokensPrompt

        return [TokensPrompt(prompt_token_ids=ids) for ids in check_prompts(prompts)]

    def logprob_params(self, token_ids: Sequence[int]) -> Any:
        """The ``SamplingParams`` of one next-token read over ``token_ids``."""
        from vllm import SamplingParams

        ids = [int(t) for t in token_ids]
        if len(ids) > self.max_logprobs:
            raise InputError(
                f"{len(ids)} token log-probs are needed per prompt (one per identifier of the "
                f"window) but the vLLM engine allows max_logprobs={self.max_logprobs}.",
                fix=f"create the engine with max_logprobs>={len(ids)} (VLLMBackend("
                    f"max_logprobs={len(ids)}) or vllm.LLM(..., max_logprobs={len(ids)})), or "
                    "use a smaller window_size.")
        if self._by_token_ids:
            return SamplingParams(max_tokens=1, temperature=0.0, logprob_token_ids=ids)
        if not self._mode.startswith("processed"):
            raise InputError(
                f"this vLLM has no logprob_token_ids and the engine's logprobs_mode is "
                f"{self._mode!r}: its top-k log-probs would not be limited to the ids asked for.",
                fix="create the engine with logprobs_mode='processed_logprobs' (done when "
                    "VLLMBackend makes the engine), or upgrade vLLM.")
        return SamplingParams(max_tokens=1, temperature=0.0, logprobs=len(ids),
                              allowed_token_ids=ids)

    def next_token_logits(self, prompts: Sequence[Sequence[int]],
                          token_ids: Sequence[int]) -> NextTokenLogits:
        params = self.logprob_params(token_ids)
        inputs = self._token_prompts(prompts)
        outputs = self._generate(inputs, params)
        wanted = [int(t) for t in token_ids]
        values = np.zeros((len(inputs), len(wanted)), dtype=np.float32)
        for row, out in enumerate(outputs):
            step = out.outputs[0].logprobs[0]
            missing = [t for t in wanted if t not in step]
            if missing:
                raise InputError(f"vLLM returned no log-prob for token ids {missing[:5]}.",
                                 fix="raise the engine's max_logprobs to the window size.")
            values[row] = [float(step[t].logprob) for t in wanted]
        return NextTokenLogits(values, tuple(len(p) for p in prompts))

    def generation_params(self, max_new_tokens: int, min_new_tokens: int = 0,
                          stop: Sequence[str] = ()) -> Any:
        from vllm import SamplingParams

        extra = {"stop": list(stop), "include_stop_str_in_output": True} if stop else {}
        return SamplingParams(max_tokens=int(max_new_tokens), temperature=0.0,
                              min_tokens=int(min(min_new_tokens, max_new_tokens)),
                              skip_special_tokens=True, **extra)

    def generate(self, prompts: Sequence[Sequence[int]], max_new_tokens: int,
                 min_new_tokens: int = 0,
                 stop_when: Callable[[str], bool] | None = None) -> list[Generation]:
        """Greedy decoding. ``stop_when`` is honoured through the stop strings it names
        (``stop_when.stop_strings``, e.g. a line break), which free a finished row's slot in
        vLLM's continuous batch; each output is then cut at the first token after which
        ``stop_when`` holds. When a stop string ended an output before the predicate held (a
        generation that starts with a line break), the whole batch is decoded again without
        stop strings and that output taken from it: the same batch gives the same greedy text
        as a call without ``stop_when`` (alone, in bf16, a prompt can decode differently)."""
        stop = tuple(getattr(stop_when, "stop_strings", ()) or ()) if stop_when else ()
        outputs = self._generate(self._token_prompts(prompts),
                                 self.generation_params(max_new_tokens, min_new_tokens, stop))
        toks = [self._tokens(o, stop_when) for o in outputs]
        texts = [o.outputs[0].text if stop_when is None else self._decode(t)
                 for o, t in zip(outputs, toks, strict=True)]
        early = [i for i, o in enumerate(outputs)
                 if stop and o.outputs[0].stop_reason in stop and not stop_when(texts[i])]
        if early:
            again = self._generate(self._token_prompts(prompts),
                                   self.generation_params(max_new_tokens, min_new_tokens))
            for i in early:
                toks[i] = self._tokens(again[i], stop_when)
                texts[i] = self._decode(toks[i])
        return [Generation(text, len(p), len(t))
                for text, p, t in zip(texts, prompts, toks, strict=True)]

    def _tokens(self, output: Any, stop_when: Callable[[str], bool] | None) -> list[int]:
        """An output's new tokens, cut at EOS (counted as the transformers backend) and, with
        ``stop_when``, at the first token after which it holds."""
        from rankify_lite.rerankers.engines.llm_backend import cut_at_stop

        toks = list(output.outputs[0].token_ids)
        eos = getattr(self.tokenizer, "eos_token_id", None)
        if eos is not None and eos in toks:
            toks = toks[:toks.index(eos)]
        return cut_at_stop(self.tokenizer, toks, stop_when)

    def _decode(self, toks: list[int]) -> str:
        return self.tokenizer.decode(toks, skip_special_tokens=True)
