"""Which engine runs an LLM reranker's model: the ``engine=`` option of every LLM family.

``"transformers"`` (default): in-process Hugging Face (:class:`TransformersBackend`).
``"vllm"``: an in-process vLLM engine (:class:`~.vllm_backend.VLLMBackend`).
``"openai"``: any OpenAI-compatible server (:class:`~.openai_backend.OpenAIBackend`).
``"llamacpp"``: llama.cpp in process on a GGUF file (:class:`~.llamacpp_backend.LlamaCppBackend`).

All four run the same token ids for the same prompt (see ``llm_backend``). What an engine takes
is read from its backend class's signature (:func:`engine_options`), so there is no second list
to drift; :data:`ENGINE_OPTIONS` only says what a shared file may do with each option, and a
test checks that every option a backend takes has a declared kind. An option the chosen engine
does not take is an error that lists the ones it does, never silently ignored -- except
``batch_size``: it is an option of every LLM family (default 8), which passes it to whichever
engine runs, so a spec saved with it keeps loading when only its engine changes; only the
transformers engine batches by it, vLLM and servers batch themselves (``concurrency`` bounds
the requests in flight to a server).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.registry import Registry, View

#: engine -> "module:Class" of its backend, imported only when that engine is used
#: (rankify_lite.registry: one type for every registry)
_ENGINES: Registry[str] = Registry("LLM engine")
_ENGINES.register("transformers", "rankify_lite.rerankers.engines.llm_backend:TransformersBackend")
_ENGINES.register("vllm", "rankify_lite.rerankers.engines.vllm_backend:VLLMBackend")
_ENGINES.register("openai", "rankify_lite.rerankers.engines.openai_backend:OpenAIBackend")
_ENGINES.register("llamacpp", "rankify_lite.rerankers.engines.llamacpp_backend:LlamaCppBackend")
#: engine -> "module:Class" (a read-only view of the registry)
ENGINE_CLASSES: Mapping[str, str] = View(lambda: dict(_ENGINES))
#: what every engine takes from the LLM family itself (not an engine option)
COMMON = ("model", "tokenizer", "revision", "max_context")

#: engine -> what a shared file may do with each option its backend takes beyond the common
#: ones (rankify_lite.file_policy: data, server, credential, python); the options themselves
#: come from the backend's signature (engine_options)
ENGINE_OPTIONS: dict[str, FileOptions] = {
    "transformers": FileOptions(data=("device", "dtype", "batch_size", "attention",
                                      "base_model")),
    "vllm": FileOptions(data=("dtype", "max_model_len", "tensor_parallel_size",
                              "gpu_memory_utilization", "max_logprobs", "enforce_eager", "seed",
                              "base_model"),
                        python=("llm", "engine_args")),
    "openai": FileOptions(data=("concurrency", "timeout", "max_retries", "backoff",
                                "max_backoff", "prompt_format", "top_logprobs"),
                          server=("base_url",), credential=("api_key_env",)),
    "llamacpp": FileOptions(data=("gguf_file", "n_threads", "n_batch", "seed", "reuse_prefix",
                                  "n_threads_batch", "n_ubatch", "flash_attn"),
                            python=("llama",)),
}
#: options the LLM families always pass (with their defaults) to whichever engine
_PASSED_ALWAYS = ("device", "dtype", "batch_size")


def engine_names() -> list[str]:
    return _ENGINES.names()


def engine_class(engine: str) -> type:
    """The backend class of ``engine`` (imports its module); an unknown engine is refused with
    close names and the list."""
    return _ENGINES.load(engine)


def engine_options(engine: str) -> tuple[str, ...]:
    """The options ``engine`` takes beyond :data:`COMMON`, from its backend's signature."""
    from rankify_lite.spec import signature_options

    return tuple(o for o in signature_options(engine_class(engine)) if o not in COMMON)


def build_backend(engine: str, model: Any, *, tokenizer: Any = None, revision: str | None = None,
                  max_context: int | None = None, **options: Any) -> Any:
    """The backend for ``engine``; ``options`` are checked against what that engine's backend
    takes (its signature). ``batch_size`` is accepted by every engine and used only by
    transformers (see the module notes); ``device`` / ``dtype`` left at None are dropped for an
    engine that does not take them, since every LLM family passes them."""
    cls = engine_class(engine)
    allowed = engine_options(engine)
    if engine != "transformers":
        options.pop("batch_size", None)
    unknown = sorted(k for k, v in options.items()
                     if k not in allowed and not (k in _PASSED_ALWAYS and v is None))
    if unknown:
        raise InputError(f"option(s) {', '.join(unknown)} do not apply to engine {engine!r}.",
                         fix=f"engine {engine!r} takes: {', '.join(allowed)} (plus "
                             f"{', '.join(COMMON)}).")
    opts = {k: v for k, v in options.items() if k in allowed and v is not None}
    if engine == "openai" and "base_url" not in opts:
        raise InputError("engine 'openai' needs base_url=, the server's API root.",
                         fix="e.g. base_url='http://127.0.0.1:8000/v1'.")
    if engine == "transformers":
        return cls(model, tokenizer, revision=revision, max_context=max_context, **opts)
    return cls(model, tokenizer=tokenizer, revision=revision, max_context=max_context, **opts)
