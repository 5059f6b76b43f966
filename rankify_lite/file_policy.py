"""What a file people share may set: an allow-list, declared where each option is declared.

A leaderboard YAML, a saved result's ``meta.json`` (``rerun``) or any other shared file names
components and their options. Every constructor option of every component class is declared
once, beside its signature, in one of these kinds (``file_options = FileOptions(...)`` on the
class whose ``__init__`` takes it; the LLM engines' options in
:data:`rankify_lite.rerankers.engines.ENGINE_OPTIONS`):

* ``data``: a plain value (a model id, a batch size, a prompt preset): a file may set it;
* ``server``: an address the component contacts (``base_url``): a file may name it only when
  the user consented to that address, with ``--allow-server URL`` (``allow_servers=`` in
  Python) or by configuring it in the environment (``OPENAI_BASE_URL``, or
  ``RANKIFY_LITE_SERVERS``: addresses separated by commas or spaces);
* ``credential``: names a secret the component sends (``api_key_env``): a file may name a
  ``*_API_KEY`` variable only for a server the user consented to, so a key only ever goes to an
  address the user configured;
* ``code``: runs code shipped with a model (``trust_remote_code``): only with
  ``--trust-remote-code``;
* ``python``: live objects, places that are written (``log_path``, ``index_root``) and
  free-form engine arguments (vLLM's ``engine_args``): never from a file; build the component
  in Python;
* ``component``: a nested component spec (a fusion's retrievers), checked by its own family's
  declaration; ``reranker-options``: the options of the reranker family named by the
  ``reranker`` option beside it, checked by that family's declaration.

An option nobody declared is not on the list, so a shared file cannot set it: a new option is
refused from files until it is declared (the test suite checks that every option is).
This module is a leaf: the checker that applies the list is :mod:`rankify_lite.pipeline.trust`.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

DATA = "data"
SERVER = "server"
CREDENTIAL = "credential"
CODE = "code"
PYTHON = "python"
COMPONENT = "component"
RERANKER_OPTIONS = "reranker-options"
KINDS = (DATA, SERVER, CREDENTIAL, CODE, PYTHON, COMPONENT, RERANKER_OPTIONS)

#: environment variables whose addresses the user configured (comma / space separated)
SERVER_ENV = ("OPENAI_BASE_URL", "RANKIFY_LITE_SERVERS")


class FileOptions(Mapping[str, str]):
    """``FileOptions(data=("model", "batch_size"), code=("trust_remote_code",))``: option ->
    kind, for the options one ``__init__`` declares. An option listed twice is an error."""

    def __init__(self, **groups: Iterable[str]) -> None:
        table: dict[str, str] = {}
        for kind, names in groups.items():
            kind = kind.replace("_", "-") if kind == "reranker_options" else kind
            if kind not in KINDS:
                raise TypeError(f"unknown shared-file option kind {kind!r}; use one of {KINDS}")
            for name in names:
                if name in table:
                    raise TypeError(f"option {name!r} is declared twice ({table[name]}, {kind})")
                table[name] = kind
        self._table = MappingProxyType(table)

    def __getitem__(self, key: str) -> str:
        return self._table[key]

    def __iter__(self):
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        return f"FileOptions({dict(self._table)!r})"


def option_sources(cls: type) -> Iterator[type | Mapping[str, Any]]:
    """Where the options of ``cls`` are declared, in order: each class whose ``__init__`` is
    read (``cls``'s, then its bases' while an ``__init__`` passes ``**kwargs`` on), then, for a
    final ``**engine_options`` (the LLM base class), every LLM engine's option table."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        yield klass
        var_kw = [p for p in inspect.signature(init).parameters.values()
                  if p.kind is p.VAR_KEYWORD]
        if not var_kw:
            return
        if var_kw[0].name == "engine_options":
            from rankify_lite.rerankers.engines import ENGINE_OPTIONS

            yield from ENGINE_OPTIONS.values()
            return


def declared_kinds(cls: type) -> dict[str, str]:
    """option -> kind for every option ``cls`` takes (see :func:`option_sources`); an option no
    class declared is absent (so a shared file may not set it)."""
    out: dict[str, str] = {}
    for source in option_sources(cls):
        table = (source.__dict__.get("file_options") or {}) if isinstance(source, type) \
            else source
        for name, kind in table.items():
            out.setdefault(name, kind)
    return out


def undeclared(cls: type, options: Iterable[str]) -> list[str]:
    """The options of ``options`` that ``cls`` takes but no class declared a kind for."""
    kinds = declared_kinds(cls)
    return [o for o in options if o not in kinds]


def normalise_url(url: Any) -> str | None:
    """``scheme://host:port/path`` lower-cased host, explicit port, no trailing slash; None for
    a value that is not an http(s) URL (so it can never equal a configured one)."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password or parts.query or parts.fragment:
        return None
    port = port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}{parts.path.rstrip('/')}"


def configured_servers() -> tuple[str, ...]:
    """The addresses the user configured in the environment (see :data:`SERVER_ENV`)."""
    out: list[str] = []
    for var in SERVER_ENV:
        out += [u for u in re.split(r"[,\s]+", os.environ.get(var, "")) if u]
    return tuple(out)


@dataclass(frozen=True)
class Consent:
    """What the user allowed a shared file to do, from the command line or Python:
    ``trust_remote_code`` (``--trust-remote-code``) and ``servers`` (``--allow-server URL``,
    repeatable; the environment's configured addresses count too)."""

    trust_remote_code: bool = False
    servers: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "servers", tuple(self.servers))

    def allows_server(self, url: Any) -> bool:
        norm = normalise_url(url)
        allowed = {normalise_url(u) for u in (*self.servers, *configured_servers())}
        return norm is not None and norm in allowed


def consent_of(consent: Consent | None, trust_remote_code: bool = False,
               servers: Iterable[str] = ()) -> Consent:
    """One :class:`Consent` from the old ``trust_remote_code`` flag and a consent object."""
    base = consent or Consent()
    return Consent(base.trust_remote_code or bool(trust_remote_code),
                   (*base.servers, *servers))


__all__ = ["CODE", "COMPONENT", "CREDENTIAL", "DATA", "PYTHON", "RERANKER_OPTIONS", "SERVER",
           "Consent", "FileOptions", "configured_servers", "consent_of", "declared_kinds",
           "normalise_url", "option_sources", "undeclared"]
