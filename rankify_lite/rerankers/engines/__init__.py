"""Which engine runs an LLM reranker's model: the ``engine=`` option of every LLM family.

``"transformers"`` (default): in-process Hugging Face (:class:`TransformersBackend`).
``"vllm"``: an in-process vLLM engine (:class:`~.vllm_backend.VLLMBackend`).
``"openai"``: any OpenAI-compatible server (:class:`~.openai_backend.OpenAIBackend`).
``"llamacpp"``: llama.cpp in process on a GGUF file (:class:`~.llamacpp_backend.LlamaCppBackend`).

All three run the same token ids for the same prompt (see ``llm_backend``). Options that only
one engine understands are checked here: an option the chosen engine does not take is an error
that lists the ones it does, never silently ignored -- except ``batch_size``, which every LLM
family passes (default 8) and only the transformers engine uses: vLLM and servers batch
themselves (``concurrency`` bounds the requests in flight to a server).
"""

from __future__ import annotations

from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions

#: engine -> options it takes beyond the common ones (model, tokenizer, revision, max_context),
#: each with what a shared file may do with it (rankify_lite.file_policy: data, server,
#: credential, python)
ENGINE_OPTIONS: dict[str, FileOptions] = {
    "transformers": FileOptions(data=("device", "dtype", "batch_size")),
    "vllm": FileOptions(data=("dtype", "max_model_len", "tensor_parallel_size",
                              "gpu_memory_utilization", "max_logprobs", "enforce_eager", "seed"),
                        python=("llm", "engine_args")),
    "openai": FileOptions(data=("concurrency", "timeout", "max_retries", "backoff",
                                "max_backoff", "prompt_format", "top_logprobs"),
                          server=("base_url",), credential=("api_key_env",)),
    "llamacpp": FileOptions(data=("gguf_file", "n_threads", "n_batch", "seed", "reuse_prefix"),
                            python=("llama",)),
}
#: options the LLM families always pass (with their defaults) to whichever engine
_PASSED_ALWAYS = ("device", "dtype", "batch_size")


def engine_names() -> list[str]:
    return list(ENGINE_OPTIONS)


def build_backend(engine: str, model: Any, *, tokenizer: Any = None, revision: str | None = None,
                  max_context: int | None = None, **options: Any) -> Any:
    """The backend for ``engine``; ``options`` are checked against what that engine takes."""
    if engine not in ENGINE_OPTIONS:
        raise InputError(f"unknown LLM engine {engine!r}.",
                         fix=f"use one of: {', '.join(ENGINE_OPTIONS)}.")
    allowed = ENGINE_OPTIONS[engine]
    if engine != "transformers":
        options.pop("batch_size", None)
    unknown = sorted(k for k, v in options.items()
                     if k not in allowed and not (k in _PASSED_ALWAYS and v is None))
    if unknown:
        raise InputError(f"option(s) {', '.join(unknown)} do not apply to engine {engine!r}.",
                         fix=f"engine {engine!r} takes: {', '.join(allowed)} (plus model, "
                             "tokenizer, revision, max_context).")
    opts = {k: v for k, v in options.items() if k in allowed and v is not None}
    if engine == "transformers":
        from rankify_lite.rerankers.llm_backend import TransformersBackend

        return TransformersBackend(model, tokenizer, revision=revision, max_context=max_context,
                                   **opts)
    if engine == "vllm":
        from rankify_lite.rerankers.engines.vllm_backend import VLLMBackend

        return VLLMBackend(model, tokenizer=tokenizer, revision=revision,
                           max_context=max_context, **opts)
    if engine == "llamacpp":
        from rankify_lite.rerankers.engines.llamacpp_backend import LlamaCppBackend

        return LlamaCppBackend(model, tokenizer=tokenizer, revision=revision,
                               max_context=max_context, **opts)
    from rankify_lite.rerankers.engines.openai_backend import OpenAIBackend

    if "base_url" not in opts:
        raise InputError("engine 'openai' needs base_url=, the server's API root.",
                         fix="e.g. base_url='http://127.0.0.1:8000/v1'.")
    return OpenAIBackend(model, tokenizer=tokenizer, revision=revision, max_context=max_context,
                         **opts)
