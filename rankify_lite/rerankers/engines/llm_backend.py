"""The seam between LLM rerankers and the engine that runs the model.

The protocol (:class:`LLMBackend`) -- token ids are the single source of truth
-------------------------------------------------------------------------------
A reranker builds each prompt as text, then turns it into token ids with the backend's own
tokenizer, and from then on only the ids travel: the engine runs exactly the ids it is given
and never re-tokenizes. So the same ids go to transformers, vLLM or an OpenAI-compatible
server, and the invocation log can say precisely what the model saw.

``render_chat(messages, chat_template=None) -> str``
    ``tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)``;
    ``messages`` is a list of ``{"role", "content"}`` dicts (system / user / assistant turns,
    multi-turn allowed). ``chat_template`` overrides the tokenizer's template (rank_llm does
    this for RankVicuna). A tokenizer without a template gives the turns' contents joined by
    blank lines. The reranker appends any assistant pre-fill (FIRST's ``"["``) itself.
    ``enable_thinking`` (when not None) goes to the template as rank_llm passes it (Qwen3's
    template writes an empty think block for ``False``; templates without it ignore it).
``encode(text, add_special_tokens=False) -> list[int]``
    ``tokenizer(text, add_special_tokens=...)["input_ids"]``. With ``True`` this is exactly
    what the reference feeds the model (vLLM's ``generate(text)`` and the FIRST trainer's
    ``tokenizer(text)``): the tokenizer's BOS where it adds one (Mistral, Llama: yes; SmolLM2,
    Qwen: none) -- even when the chat template already wrote one. Rerankers choose with their
    ``bos=`` option (see ``LLMReranker.prompt_ids``); ``False`` is for measuring pieces.
``decode(ids) -> str``
    ``tokenizer.decode(ids, skip_special_tokens=False)`` (logs and tests).
``next_token_logits(prompts, token_ids) -> NextTokenLogits``
    ``prompts``: a batch of token-id lists. One forward pass per prompt, read at the position
    after its last token, restricted to ``token_ids``; float32. Values may be logits or
    log-probabilities (they differ by a per-prompt constant; callers only compare values
    within one row). Backends should compute them in fp32 (transformers projects the final
    hidden state onto the fp32 LM-head rows of ``token_ids``) so bf16 rounding cannot tie.
``generate(prompts, max_new_tokens, min_new_tokens=0, stop_when=None) -> list[Generation]``
    Greedy decoding of each token-id prompt; end-of-sequence is suppressed until
    ``min_new_tokens`` (rank_llm uses ``min_tokens == max_tokens``); ``text`` is the new
    tokens decoded with special tokens skipped, cut at the first EOS. ``stop_when`` (optional)
    is a predicate on the text so far: an engine that can check it (transformers, llama.cpp;
    vLLM through the stop strings the predicate names in ``stop_when.stop_strings``) ends a
    generation at the first token after which it holds; the others decode on to
    ``max_new_tokens``, so callers use it only where the text they keep is the same either way
    (pseudo-queries keep the first line, so they stop once it is complete).
``max_context: int`` and ``config() -> dict``
    The model's longest prompt + output in tokens; model id, revision, dtype, engine.

:class:`TransformersBackend` is the in-process Hugging Face implementation; other engines
(vLLM, OpenAI-compatible servers) implement the same protocol in their own modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rankify_lite.errors import InputError, require

Messages = Sequence[Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class NextTokenLogits:
    """Next-token values after each prompt, over the requested ids only (see the protocol)."""

    logits: np.ndarray                 # (batch, len(token_ids)), float32
    input_tokens: tuple[int, ...]      # prompt length in tokens, per prompt


@dataclass(frozen=True, slots=True)
class Generation:
    text: str
    input_tokens: int
    output_tokens: int


@runtime_checkable
class LLMBackend(Protocol):
    """What LLM rerankers need from a model engine (the module docstring is the contract)."""

    #: the longest prompt + output the model takes, in tokens
    max_context: int

    def config(self) -> dict[str, Any]:
        """Model id, revision, dtype, engine, ... (goes into run metadata)."""

    def render_chat(self, messages: Messages, chat_template: str | None = None,
                    enable_thinking: bool | None = None) -> str:
        """The chat template applied to ``messages`` with the generation prompt, as text."""

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """Token ids of ``text``; with ``add_special_tokens`` the tokenizer's BOS etc."""

    def decode(self, ids: Sequence[int]) -> str:
        """Text of token ids, special tokens kept."""

    def next_token_logits(self, prompts: Sequence[Sequence[int]],
                          token_ids: Sequence[int]) -> NextTokenLogits:
        """One forward pass per token-id prompt (batched); fp32 values at the last position."""

    def generate(self, prompts: Sequence[Sequence[int]], max_new_tokens: int,
                 min_new_tokens: int = 0,
                 stop_when: Callable[[str], bool] | None = None) -> list[Generation]:
        """Greedy continuation of each token-id prompt."""


def cut_at_stop(tokenizer: Any, toks: list[int],
                stop_when: Callable[[str], bool] | None) -> list[int]:
    """``toks`` up to the first token after which ``stop_when`` holds for their decoded text
    (all of them when it never does, or when there is no predicate)."""
    if stop_when is not None:
        for k in range(1, len(toks) + 1):
            if stop_when(tokenizer.decode(toks[:k], skip_special_tokens=True)):
                return toks[:k]
    return toks


def supports_stop_when(backend: Any) -> bool:
    """Whether ``backend.generate`` takes ``stop_when`` (a backend of another package may
    predate it; it then decodes to ``max_new_tokens``)."""
    import inspect

    try:
        params = inspect.signature(backend.generate).parameters
    except (TypeError, ValueError):
        return False
    return "stop_when" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def continuation_ids(backend: LLMBackend, context: str, piece: str) -> list[int]:
    """The token ids ``piece`` becomes when it directly follows ``context``.

    Checking in context matters: SentencePiece tokenizers give a standalone "A" a word-start
    marker, and byte-level BPE may merge "[A" into one token.
    """
    before = backend.encode(context)
    after = backend.encode(context + piece)
    if after[:len(before)] != before:
        # the piece merged with the end of the context: it is not a clean continuation
        common = 0
        while common < min(len(before), len(after)) and before[common] == after[common]:
            common += 1
        return [-1] * max(2, len(after) - common)
    return after[len(before):]


def single_token_ids(backend: LLMBackend, context: str, pieces: Sequence[str],
                     what: str, fix: str) -> list[int]:
    """The single token id of each piece after ``context``, or an InputError naming the culprit."""
    ids: list[int] = []
    for piece in pieces:
        toks = continuation_ids(backend, context, piece)
        if len(toks) != 1 or toks[0] < 0:
            raise InputError(f"{what} {piece!r} is {len(toks)} tokens for this model's tokenizer "
                             f"({toks}); it must be exactly one.", fix=fix)
        ids.append(toks[0])
    if len(set(ids)) != len(ids):
        raise InputError(f"{what}s {list(pieces)} do not map to distinct tokens ({ids}).", fix=fix)
    return ids


def answer_ids(backend: LLMBackend, context: str, words: Sequence[str]) -> list[int]:
    """The distinct single-token ids, after ``context``, of those answer ``words`` that are one
    token (a yes/no family's label words; the rest are skipped; empty when none is)."""
    ids: list[int] = []
    for w in words:
        toks = continuation_ids(backend, context, w)
        if len(toks) == 1 and toks[0] >= 0 and toks[0] not in ids:
            ids.append(toks[0])
    return ids


def yes_no_ids(backend: LLMBackend, template: Any, context: str,
               after: str = "") -> tuple[list[int], list[int]]:
    """A yes/no family's label ids: the single-token spellings, after ``context``, of the
    ``template``'s ``yes_words`` and ``no_words`` lists. Refuses (naming the prompt file) a list
    with no single-token word, or two lists that share a token. ``after`` says where the answer
    is read, for the message ("after the think block")."""
    found = []
    for key in ("yes_words", "no_words"):
        words = [str(w) for w in template.get(key)]
        ids = answer_ids(backend, context, words)
        if not ids:
            raise InputError(f"none of the {key!r} answer words {words} is a single token for "
                             f"this model's tokenizer{' ' + after if after else ''}.",
                             path=template.path,
                             fix=f"add a single-token spelling to the template's '{key}:' list.")
        found.append(ids)
    if set(found[0]) & set(found[1]):
        raise InputError("the yes and no answer words share a token.", path=template.path,
                         fix="list distinct answer words.")
    return found[0], found[1]


def plain_chat(messages: Messages) -> str:
    """The fallback rendering for tokenizers without a chat template."""
    return "".join(f"{m['content']}\n\n" for m in messages)


def render_with_template(tokenizer: Any, has_template: bool, messages: Messages,
                         chat_template: str | None = None,
                         enable_thinking: bool | None = None) -> str:
    """``render_chat`` for a Hugging Face tokenizer (every engine renders with this)."""
    if chat_template is None and not has_template:
        return plain_chat(messages)
    extra = {} if enable_thinking is None else {"enable_thinking": bool(enable_thinking)}
    return tokenizer.apply_chat_template([dict(m) for m in messages], tokenize=False,
                                         add_generation_prompt=True,
                                         chat_template=chat_template, **extra)


class TokenizerSide:
    """``render_chat`` / ``encode`` / ``decode`` through a Hugging Face tokenizer: every engine
    (transformers, vLLM, OpenAI-compatible, llama.cpp) builds its token ids with these."""

    tokenizer: Any

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def render_chat(self, messages: Messages, chat_template: str | None = None,
                    enable_thinking: bool | None = None) -> str:
        return render_with_template(self.tokenizer, self.has_chat_template, messages,
                                    chat_template, enable_thinking)

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)


def check_prompts(prompts: Sequence[Sequence[int]]) -> list[list[int]]:
    out = []
    for i, ids in enumerate(prompts):
        if not len(ids):
            raise InputError(f"prompt {i} has no tokens.", fix="check the prompt template.")
        out.append([int(t) for t in ids])
    return out


class TransformersBackend(TokenizerSide):
    """A Hugging Face causal LM: left-padded batches, last-position logits, greedy generation.

    ``model`` is a Hub id, a local folder, or an already-built ``PreTrainedModel`` (then pass
    ``tokenizer`` too). On GPU the default dtype is bf16 (fp16 where bf16 is unsupported); on
    CPU fp32. ``next_token_logits`` runs the decoder once and projects its final hidden state,
    in fp32, onto the LM-head rows of the requested ids (the full vocabulary is never formed).
    A ``model`` holding ``adapter_config.json`` (a PEFT LoRA adapter) is merged into its base
    (``base_model``, default the one its config names) as it loads (:mod:`rankify_lite.models.
    adapters`).
    """

    def __init__(self, model: Any, tokenizer: Any = None, *, device: str | None = None,
                 dtype: Any = None, revision: str | None = None,
                 max_context: int | None = None, batch_size: int = 8,
                 attention: str | None = "sdpa", base_model: str | None = None) -> None:
        require("torch", extra="llm", feature="LLM rerankers")
        transformers = require("transformers", extra="llm", feature="LLM rerankers")
        from rankify_lite.models import loader

        self.model_id = loader.model_name(model)
        loaded = loader.load(transformers.AutoModelForCausalLM, model, revision=revision,
                             device=device, dtype=dtype, attention=attention,
                             tokenizer=tokenizer, base_model=base_model)
        self.adapter = loaded.adapter  # a PEFT adapter merged into its base, or None
        model, tokenizer = loaded.model, loaded.tokenizer
        self.device, self.revision = loaded.device, loaded.revision
        self.dtype = loader.dtype_name(loaded.dtype)
        self.model = model
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        positions = getattr(model.config, "max_position_embeddings", None) or 4096
        self.max_context = int(min(positions, max_context or positions))
        self.batch_size = max(1, int(batch_size))
        self._head_cache: dict[tuple[int, ...], Any] = {}

    def config(self) -> dict[str, Any]:
        from rankify_lite.models.adapters import provenance

        return {"backend": "transformers", "model": self.model_id, "revision": self.revision,
                **provenance(self.adapter), "dtype": self.dtype, "max_context": self.max_context,
                "chat_template": self.has_chat_template,
                "next_token_logits": ("fp32 projection of the final hidden state"
                                      if self._decoder_and_head() else "full logits, as fp32")}

    # -- batching ------------------------------------------------------------------------------
    def _batches(self, prompts: Sequence[Sequence[int]]):
        """Yield (original indices, input_ids, attention_mask, position_ids), sorted by length."""
        import torch

        for i, ids in enumerate(prompts):
            if not len(ids):
                raise InputError(f"prompt {i} has no tokens.", fix="check the prompt template.")
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        pad = self.tokenizer.pad_token_id
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            width = max(len(prompts[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):
                n = len(prompts[i])
                ids[row, width - n:] = torch.tensor(list(prompts[i]), dtype=torch.long)
                mask[row, width - n:] = 1
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            yield idx, ids.to(self.device), mask.to(self.device), pos.to(self.device)

    # -- next-token logits ---------------------------------------------------------------------
    def _decoder_and_head(self) -> tuple[Any, Any] | None:
        """(decoder, lm_head) when logits are a plain linear map of the decoder's output."""
        import torch

        get_decoder = getattr(self.model, "get_decoder", None)
        try:
            decoder = get_decoder() if callable(get_decoder) else None
        except (AttributeError, NotImplementedError):
            decoder = None
        head = self.model.get_output_embeddings()
        if decoder is None or decoder is self.model or not isinstance(head, torch.nn.Linear):
            return None
        return decoder, head

    def _head_rows(self, head: Any, token_ids: Sequence[int]) -> tuple[Any, Any]:
        """fp32 LM-head rows (and bias) of ``token_ids``, cached per id list."""
        import torch

        key = tuple(int(t) for t in token_ids)
        if key not in self._head_cache:
            sel = torch.tensor(key, dtype=torch.long, device=head.weight.device)
            w = head.weight.detach().index_select(0, sel).float()
            b = None if head.bias is None else head.bias.detach().index_select(0, sel).float()
            self._head_cache[key] = (w, b)
        return self._head_cache[key]

    def _postprocess(self, logits: Any) -> Any:
        """The architecture's own logit scaling / soft-capping, applied in fp32."""
        import torch

        cfg = self.model.config
        if getattr(cfg, "logit_scale", None):                 # Cohere
            logits = logits * float(cfg.logit_scale)
        if getattr(cfg, "logits_scaling", None):              # Granite
            logits = logits / float(cfg.logits_scaling)
        cap = getattr(cfg, "final_logit_softcapping", None)   # Gemma 2/3
        if cap:
            logits = torch.tanh(logits / float(cap)) * float(cap)
        return logits

    def next_token_logits(self, prompts: Sequence[Sequence[int]],
                          token_ids: Sequence[int]) -> NextTokenLogits:
        import torch

        out = np.zeros((len(prompts), len(token_ids)), dtype=np.float32)
        parts = self._decoder_and_head()
        sel = torch.tensor(list(token_ids), dtype=torch.long, device=self.device)
        with torch.inference_mode():
            for idx, ids, mask, pos in self._batches(prompts):
                if parts is not None:
                    decoder, head = parts
                    hidden = decoder(input_ids=ids, attention_mask=mask, position_ids=pos,
                                     use_cache=False).last_hidden_state[:, -1, :]
                    w, b = self._head_rows(head, token_ids)
                    picked = hidden.float().to(w.device) @ w.T
                    if b is not None:
                        picked = picked + b
                    picked = self._postprocess(picked)
                else:
                    logits = self.model(input_ids=ids, attention_mask=mask, position_ids=pos,
                                        logits_to_keep=1, use_cache=False).logits
                    picked = logits[:, -1, :].index_select(-1, sel).float()
                picked = picked.cpu().numpy()
                for row, i in enumerate(idx):
                    out[i] = picked[row]
        return NextTokenLogits(out, tuple(len(p) for p in prompts))

    # -- generation ----------------------------------------------------------------------------
    def generate(self, prompts: Sequence[Sequence[int]], max_new_tokens: int,
                 min_new_tokens: int = 0,
                 stop_when: Callable[[str], bool] | None = None) -> list[Generation]:
        import torch

        results: list[Generation | None] = [None] * len(prompts)
        eos = self.tokenizer.eos_token_id
        with torch.inference_mode():
            for idx, ids, mask, _ in self._batches(prompts):
                stop = ({} if stop_when is None else
                        {"stopping_criteria": _stopping(self.tokenizer, ids.shape[1], stop_when)})
                out = self.model.generate(input_ids=ids, attention_mask=mask,
                                          max_new_tokens=max_new_tokens,
                                          min_new_tokens=min(min_new_tokens, max_new_tokens),
                                          do_sample=False,
                                          pad_token_id=self.tokenizer.pad_token_id,
                                          eos_token_id=eos, **stop)
                new = out[:, ids.shape[1]:].cpu().tolist()
                for row, i in enumerate(idx):
                    toks = new[row]
                    if eos is not None and eos in toks:
                        toks = toks[:toks.index(eos)]
                    toks = cut_at_stop(self.tokenizer, toks, stop_when)  # pads after a stop
                    text = self.tokenizer.decode(toks, skip_special_tokens=True)
                    results[i] = Generation(text, len(prompts[i]), len(toks))
        return [r for r in results if r is not None]


def _stopping(tokenizer: Any, start: int, stop_when: Callable[[str], bool]) -> Any:
    """A transformers stopping criterion that ends each row once ``stop_when`` holds for its
    new tokens' text (rows past ``start``, the padded prompt width)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _StopWhen(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            rows = input_ids[:, start:].tolist()
            done = [bool(stop_when(tokenizer.decode(r, skip_special_tokens=True)))
                    for r in rows]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([_StopWhen()])
