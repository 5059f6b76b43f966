"""Rerankers: take queries + a candidate Run + the corpus, return a new Run. One room per kind of
thing; open the file named for what you came to do.

At the top, the contract and the driver:

- ``base.py``: :class:`Reranker`, the class every family subclasses (``config()`` and
  ``_rerank_batch(items)``), and :class:`RerankItem`.
- ``driver.py``: the one batch driver (``drive``, the ``Scorer`` protocol it reads): query
  batches, pair caps, retries, ties, statistics -- the same for every family.
- ``registry.py``: family keys -> classes (``register``, ``load_reranker``, ``families``); adding
  a family is one file in ``families/`` plus one ``register(...)`` line here.
- ``ties.py``: re-export of :mod:`rankify_lite.ties` (the tie rule belongs to a stage).

The rooms:

- ``families/``: one file per family, one class each (``cross_encoder.py``, ``monot5.py``,
  ``first.py``, ``listwise.py``, ...); a helper only one family uses sits beside it
  (``causal_lm_layers.py``, ``minicpm_layerwise.py``), ``_scoring.py`` is shared by the families
  that score flat lists of pairs.
- ``llm/``: what LLM families share: ``base.py`` (``LLMReranker``, ``WindowedLLMReranker``),
  ``windows.py`` (sliding windows), ``listwise_prompt.py`` (window prompts), ``reasoning.py``
  (think within a budget, then answer).
- ``engines/``: what runs an LLM's model: ``llm_backend.py`` (the backend protocol, token ids
  only, and the in-process transformers backend), ``seq2seq_backend.py`` (T5), the vLLM,
  OpenAI-compatible and llama.cpp backends, and ``engine=`` option handling (``__init__.py``).
- ``prompts/``: prompts as data: the packaged YAML templates, ``templates.py`` (load and hash
  one), ``presets.py`` (which template a model id gets), ``clean.py`` (passage and query text
  cleaning).

The module paths from before the rooms (every module sat at the top, e.g. ``cross_encoder``)
import for one release, as the same module objects, with a DeprecationWarning (``_moved.py``).
"""

from rankify_lite.rerankers import _moved
from rankify_lite.rerankers.base import Reranker, RerankItem
from rankify_lite.rerankers.registry import families, load_reranker, register

_moved.install()

__all__ = ["Reranker", "RerankItem", "families", "load_reranker", "register"]
