"""The module paths rerankers/ had before it was cut into rooms (#33), importing for one release.

``import rankify_lite.rerankers.cross_encoder`` (or ``from ... import X``) gives the very module
object of its new path, ``rankify_lite.rerankers.families.cross_encoder``: one module under both
names, so a monkeypatch through either hits the same code. The first import of an old name in a
process warns (``DeprecationWarning``) with the path to use. Nothing in the package imports an
old name (tests/rerankers/test_moved.py checks). Remove this file, and its ``install()`` in
``rerankers/__init__.py``, in the release after next.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

PACKAGE = "rankify_lite.rerankers"
#: old module (under rankify_lite.rerankers) -> its new place (under rankify_lite.rerankers)
MOVED: dict[str, str] = {
    "_scoring": "families._scoring",
    "bi_encoder": "families.bi_encoder",
    "causal_lm": "families.causal_lm",
    "causal_lm_layers": "families.causal_lm_layers",
    "colbert": "families.colbert",
    "cross_encoder": "families.cross_encoder",
    "duot5": "families.duot5",
    "first": "families.first",
    "icr": "families.icr",
    "identity": "families.identity",
    "listwise": "families.listwise",
    "minicpm_layerwise": "families.minicpm_layerwise",
    "monot5": "families.monot5",
    "pairwise": "families.pairwise",
    "pointwise": "families.pointwise",
    "rank1": "families.rank1",
    "reasonrank": "families.reasonrank",
    "setwise": "families.setwise",
    "llm_base": "llm.base",
    "windows": "llm.windows",
    "reasoning": "llm.reasoning",
    "listwise_prompt": "llm.listwise_prompt",
    "llm_backend": "engines.llm_backend",
    "seq2seq_backend": "engines.seq2seq_backend",
    "prompt_presets": "prompts.presets",
    "prompts_io": "prompts.templates",
    "text_clean": "prompts.clean",
}


class _Alias(importlib.abc.Loader):
    """Loads an old name as the module of its new path (imported on the way)."""

    def __init__(self, new: str) -> None:
        self.new = new
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.new)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec  # the import system gave it the old name's spec: restore its own


class MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old names of :data:`MOVED` (and nothing else)."""

    def find_spec(self, fullname: str, path: object = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        old = fullname.removeprefix(PACKAGE + ".")
        if old == fullname or old not in MOVED:
            return None
        new = f"{PACKAGE}.{MOVED[old]}"
        # stacklevel 2: the import statement (warnings skips importlib's own frames)
        warnings.warn(f"{fullname} moved to {new}; import it from there (the old name goes "
                      f"in the release after next).", DeprecationWarning, stacklevel=2)
        return importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    """Put :class:`MovedFinder` first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())
