"""LLM rerankers against any OpenAI-compatible server (vLLM's, llama.cpp's, ...).

Prompts travel as token ids built by our tokenizer (``prompt: [ids]`` on ``/completions``), so
the BOS and chat template are exactly ours; a server that re-tokenizes would change them, and
the prompt token count it reports is checked against ours on every call.

* **Next-token values** (FIRST, pointwise): ``max_tokens=1``, greedy, log-probs of the requested
  ids. vLLM's ``logprob_token_ids`` extension returns exactly those ids (keys "token_id:N");
  other servers give their top-``k`` (``top_logprobs``, default the number of ids) keyed by
  token text, mapped back through our tokenizer. An id the server did not return is an error,
  never a guessed value.
* **Generation** (listwise): ``temperature=0``, ``max_tokens``, ``min_tokens`` (vLLM).
* ``prompt_format="text"`` sends the decoded prompt text instead, for servers that accept only
  strings (llama-cpp-python); the reported prompt length must still equal ours.
* Token accounting: each call's ``usage`` (prompt / completion tokens as the server counted
  them) fills ``input_tokens`` / ``output_tokens``, which the reranker sums into ``llm_stats``;
  ``requests`` and ``retries`` are counted on the backend (``backend.counters``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rankify_lite.errors import InputError
from rankify_lite.rerankers.engines.http_client import ClientError, JsonClient, ServerError
from rankify_lite.rerankers.engines.llm_backend import Generation, NextTokenLogits
from rankify_lite.rerankers.engines.tokenizer_side import TokenizerSide, check_prompts, load_tokenizer

PROMPT_FORMATS = ("ids", "text")


class OpenAIBackend(TokenizerSide):
    """``OpenAIBackend("HuggingFaceTB/SmolLM2-135M-Instruct", base_url="http://127.0.0.1:8000/v1")``.

    ``model`` is the name the server serves; ``tokenizer`` (default: ``model``) is a Hugging
    Face id or folder with the same tokenizer, loaded locally. The key is read from the
    environment variable ``api_key_env`` (none is sent when it is unset).
    """

    def __init__(self, model: str, *, base_url: str, tokenizer: Any = None,
                 revision: str | None = None, api_key_env: str | None = "OPENAI_API_KEY",
                 concurrency: int = 8, timeout: float = 120.0, max_retries: int = 5,
                 backoff: float = 0.5, max_backoff: float = 30.0,
                 max_context: int | None = None, prompt_format: str = "ids",
                 top_logprobs: int | None = None) -> None:
        if prompt_format not in PROMPT_FORMATS:
            raise InputError(f"unknown prompt_format {prompt_format!r}.",
                             fix="use 'ids' (token-id prompts; vLLM) or 'text' (servers that "
                                 "take only strings, e.g. llama-cpp-python).")
        if not isinstance(model, str) or not model:
            raise InputError("the openai engine needs model= the name the server serves.",
                             fix="e.g. model='HuggingFaceTB/SmolLM2-135M-Instruct'.")
        from rankify_lite.models.adapters import refuse_folder

        for given in (model, tokenizer):
            refuse_folder(given, "openai", "serve the adapter on the server side (e.g. vllm "
                          "serve <base> --enable-lora --lora-modules name=<folder>) and pass "
                          "model= its served name, tokenizer= the base's id or folder.")
        self.model_id = model
        self.revision = revision
        self.tokenizer = load_tokenizer(tokenizer or model, revision=revision, engine="openai")
        self.client = JsonClient(base_url, api_key_env=api_key_env, timeout=timeout,
                                 max_retries=max_retries, backoff=backoff,
                                 max_backoff=max_backoff, concurrency=concurrency)
        self.prompt_format = prompt_format
        self.top_logprobs = top_logprobs
        #: whether to send vLLM's logprob_token_ids extension (dropped if the server rejects it)
        self._token_id_logprobs = True
        self.max_context = int(max_context or self._served_context() or 4096)

    @property
    def counters(self) -> dict[str, int]:
        return dict(self.client.counters)

    def config(self) -> dict[str, Any]:
        return {"backend": "openai", "model": self.model_id, "revision": self.revision,
                "base_url": self.client.base_url, "api_key_env": self.client.api_key_env,
                "max_context": self.max_context, "chat_template": self.has_chat_template,
                "prompt_format": self.prompt_format,
                "next_token_logits": "server log-probs (fp32 on the wire)"}

    def _served_context(self) -> int | None:
        """``max_model_len`` from ``/models`` when the server reports it (vLLM does)."""
        try:
            models = self.client._client.get("/models", timeout=10.0).json().get("data", [])
        except Exception:  # noqa: BLE001 - optional information; the first real call reports
            return None
        for m in models:
            if m.get("id") == self.model_id and m.get("max_model_len"):
                return int(m["max_model_len"])
        return None

    # -- requests ------------------------------------------------------------------------------
    def _prompt(self, ids: list[int]) -> Any:
        return ids if self.prompt_format == "ids" else self.decode(ids)

    def _complete(self, ids: list[int], **params: Any) -> tuple[dict[str, Any], int, int]:
        body = {"model": self.model_id, "prompt": self._prompt(ids), "temperature": 0.0,
                "stream": False, **params}
        try:
            out = self.client.post("/completions", body)
        except ClientError as exc:
            if exc.status == 404:
                raise ClientError(
                    f"{exc.problem} -- the LLM rerankers send prompts as token ids to the "
                    "completions endpoint; a chat-only API cannot take them.", status=404,
                    fix="serve the model with a server that has /v1/completions (vLLM, "
                        "llama.cpp) and check base_url and the model name.") from exc
            if self.prompt_format == "ids" and "prompt" in exc.problem and \
                    "valid string" in exc.problem:
                raise ClientError(
                    f"{exc.problem} -- this server takes only text prompts, not token ids.",
                    status=exc.status,
                    fix="pass prompt_format='text' (the prompt length it reports is still "
                        "checked against ours), or serve the model with vLLM.") from exc
            raise
        choices = out.get("choices") or []
        if not choices:
            raise ServerError(f"the server at {self.client.base_url} answered without choices: "
                              f"{self.client.scrub(str(out)[:200])}")
        usage = out.get("usage") or {}
        n_in = int(usage.get("prompt_tokens", len(ids)))
        if n_in != len(ids):
            raise InputError(
                f"the server at {self.client.base_url} counted {n_in} prompt tokens where we "
                f"sent {len(ids)}: it tokenized the prompt itself (added a BOS or split "
                "special tokens differently), so the model would not see our prompt.",
                fix="use prompt_format='ids' with a server that accepts token-id prompts "
                    "(vLLM), or the bos= option that matches what the server adds.")
        return choices[0], n_in, int(usage.get("completion_tokens", 0))

    # -- the protocol --------------------------------------------------------------------------
    def next_token_logits(self, prompts: Sequence[Sequence[int]],
                          token_ids: Sequence[int]) -> NextTokenLogits:
        prompts = check_prompts(prompts)
        wanted = [int(t) for t in token_ids]
        by_text = {self.tokenizer.decode([t]): t for t in wanted}
        if len(by_text) != len(wanted):
            by_text = {}                      # ambiguous as text: only token-id keys will do
        k = max(len(wanted), int(self.top_logprobs or 0))

        def one(ids: list[int]) -> tuple[list[float], int]:
            params: dict[str, Any] = {"max_tokens": 1, "logprobs": k}
            sent_extension = self._token_id_logprobs  # read once: other threads may drop it
            if sent_extension:
                params.update(logprob_token_ids=wanted, return_tokens_as_token_ids=True)
            try:
                choice, n_in, _ = self._complete(ids, **params)
            except ClientError as exc:
                if not (sent_extension and exc.status in (400, 422)
                        and ("logprob_token_ids" in exc.problem
                             or "return_tokens_as_token_ids" in exc.problem)):
                    raise
                self._token_id_logprobs = False          # a server without the extension
                choice, n_in, _ = self._complete(ids, max_tokens=1, logprobs=k)
            top = ((choice.get("logprobs") or {}).get("top_logprobs") or [None])[0] or {}
            got: dict[int, float] = {}
            for key, value in top.items():
                if key.startswith("token_id:"):
                    got[int(key.split(":", 1)[1])] = float(value)
                elif key in by_text:
                    got[by_text[key]] = float(value)
            missing = [t for t in wanted if t not in got]
            if missing:
                raise InputError(
                    f"the server at {self.client.base_url} returned log-probs for "
                    f"{len(wanted) - len(missing)} of the {len(wanted)} requested tokens "
                    f"(missing ids {missing[:5]}): it neither supports 'logprob_token_ids' "
                    f"nor ranked them in its top {k}.",
                    fix="serve the model with vLLM (exact per-token log-probs), or pass "
                        "top_logprobs= large enough for this server.")
            return [got[t] for t in wanted], n_in

        results = self.client.map(one, prompts)
        values = np.array([r[0] for r in results], dtype=np.float32).reshape(len(prompts),
                                                                             len(wanted))
        return NextTokenLogits(values, tuple(r[1] for r in results))

    def generate(self, prompts: Sequence[Sequence[int]], max_new_tokens: int,
                 min_new_tokens: int = 0,
                 stop_when: Callable[[str], bool] | None = None) -> list[Generation]:
        # stop_when is not checked here: decoding goes on to max_new_tokens (the protocol)
        prompts = check_prompts(prompts)
        params: dict[str, Any] = {"max_tokens": int(max_new_tokens)}
        if min_new_tokens:
            params["min_tokens"] = int(min(min_new_tokens, max_new_tokens))

        def one(ids: list[int]) -> Generation:
            choice, n_in, n_out = self._complete(ids, **params)
            return Generation(str(choice.get("text") or ""), n_in, n_out)

        return self.client.map(one, prompts)
