"""``--reranker`` values: one system per flag, a reranker or a cascade, each stage configured alone.

Grammar (one ``--reranker`` value)::

    STAGE [>> STAGE ...]
    STAGE := FAMILY [KEY=VALUE ...]

``model=``, ``name=`` and ``depth=`` are the stage's model, stage name and depth; any other
``KEY=VALUE`` is an option of the family (JSON values: ``window_size=20``, ``fp16=true``).
Examples::

    --reranker cross-encoder
    --reranker "cross-encoder model=cross-encoder/ms-marco-MiniLM-L12-v2 name=ce12"
    --reranker "cross-encoder depth=100 >> first depth=20 window_size=20"

The old flags keep working: ``--model`` and ``--option`` apply to every stage that does not set
that model / option itself, ``--depth`` is the depth of stages without ``depth=``.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass, field
from typing import Any

from rankify_lite.errors import InputError

_SPECIAL = ("model", "name", "depth")


@dataclass(frozen=True)
class StageArg:
    family: str
    model: str | None = None
    name: str | None = None
    depth: int | None = None
    options: dict[str, Any] = field(default_factory=dict)


def _value(text: str, key: str = "", flag: str = "--option") -> Any:
    """A JSON value where ``text`` is one, else the text; JSON's NaN / Infinity and numbers
    beyond a float (1e999) are refused, as every number from a flag is (io/numbers.py)."""
    def non_finite(word: str) -> Any:
        raise InputError(f"{flag} {key}={text}: {word} is not a finite number.",
                         fix=f"give {key} a finite number (or quote it as text).")

    def number(digits: str) -> float:
        value = float(digits)
        return value if math.isfinite(value) else non_finite(digits)

    try:
        return json.loads(text, parse_constant=non_finite, parse_float=number)
    except json.JSONDecodeError:
        return text


def parse_options(pairs: list[str] | None, flag: str = "--option") -> dict[str, Any]:
    """``["k=v", ...]`` (JSON values where they parse) as a dict."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair or pair.startswith("="):
            raise InputError(f"{flag} {pair!r} is not KEY=VALUE.", fix=f"e.g. {flag} batch_size=32")
        key, value = pair.split("=", 1)
        out[key] = _value(value, key, flag)
    return out


def split_stages(text: str) -> list[str]:
    """``text`` cut at each ``>>`` outside quotes (shell rules: '...' and "..." quote, a
    backslash escapes outside single quotes), so a quoted value may hold ``>>``; an unclosed
    quote is one line."""
    parts, start, quote, opened, i = [], 0, None, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote != "'":
            i += 2
            continue
        if quote is None and ch in "'\"":
            quote, opened = ch, i
        elif ch == quote:
            quote = None
        elif quote is None and text.startswith(">>", i):
            parts.append(text[start:i])
            start = i = i + 2
            continue
        i += 1
    if quote is not None:
        raise InputError(f"--reranker {text!r}: the quote {quote} opened at character "
                         f"{opened + 1} is never closed.", fix="close the quotes.")
    return [*parts, text[start:]]


def parse_system(text: str) -> list[StageArg]:
    """The stages of one ``--reranker`` value (see the module docstring)."""
    stages = []
    for part in split_stages(text):
        try:
            tokens = shlex.split(part)
        except ValueError as exc:
            raise InputError(f"--reranker {text!r}: {exc}.", fix="close the quotes.") from None
        if not tokens or "=" in tokens[0]:
            raise InputError(f"--reranker {text!r}: each stage starts with a family name.",
                             fix="e.g. --reranker 'cross-encoder depth=100 >> first depth=20'")
        family, *pairs = tokens
        opts = parse_options(pairs, "--reranker")
        depth = opts.pop("depth", None)
        if depth is not None:
            from rankify_lite.io.numbers import COUNT

            depth = COUNT.check(depth, f"--reranker {text!r}: depth", fix="e.g. depth=20")
        model, name = opts.pop("model", None), opts.pop("name", None)
        stages.append(StageArg(family, None if model is None else str(model),
                               _stage_name(name, text), depth, opts))
    return stages


def _stage_name(name: Any, text: str) -> str | None:
    """A stage's ``name=`` (JSON values read back as text), checked as every stage name is."""
    if name is None:
        return None
    from rankify_lite.names import check_name

    value = name if isinstance(name, str) else json.dumps(name)
    return check_name(value, f"--reranker {text!r}: name", example="name=ce12")


def build_systems(values: list[str] | None, model: str | None,
                  options: dict[str, Any]) -> list[Any]:
    """Each ``--reranker`` value as a reranker or cascade; a stage configured the same way in
    several systems is built once (and computed once by the pipeline)."""
    from rankify_lite.rerankers import load_reranker

    built: dict[str, Any] = {}
    systems = []
    for text in values or []:
        chain = None
        for st in parse_system(text):
            opts = {**options, **st.options}
            key = json.dumps([st.family, st.model or model, opts, st.name], sort_keys=True,
                             default=str)
            if key not in built:
                built[key] = load_reranker(st.family, model=st.model or model, name=st.name,
                                           **opts)
            stage = built[key] if st.depth is None else built[key] % st.depth
            chain = stage if chain is None else chain >> stage
        systems.append(chain)
    return systems
