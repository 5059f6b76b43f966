"""Import single modules of a reference package whose ``__init__`` files import more than the
test needs (rank_llm's pull in vLLM; FlagEmbedding's pull in a model file that transformers 5
cannot import): the parent packages are empty stand-ins while the modules load, and
``sys.modules`` is restored afterwards, so the reference's own code runs unchanged."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def isolated_modules(package: str, packages: Sequence[str],
                     modules: Sequence[str]) -> Iterator[list[Any]]:
    """Yield the imported ``modules`` with each of ``packages`` (dotted names under
    ``package``, the top one included) replaced by an empty package while they load."""
    root = Path(importlib.util.find_spec(package).submodule_search_locations[0])
    before = {k: v for k, v in sys.modules.items() if k == package or
              k.startswith(package + ".")}
    try:
        for name in packages:
            pkg = types.ModuleType(name)
            pkg.__path__ = [str(root.joinpath(*name.split(".")[1:]))]
            sys.modules[name] = pkg
        yield [importlib.import_module(m) for m in modules]
    finally:
        for k in [k for k in sys.modules if k == package or k.startswith(package + ".")]:
            del sys.modules[k]
        sys.modules.update(before)
