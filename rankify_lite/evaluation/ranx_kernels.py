"""ranx's metric kernels, loaded without running ranx's package ``__init__`` up front.

``import ranx`` runs ``ranx/__init__.py``, which imports its comparison, fusion and plotting
layers (scipy.stats, pandas, matplotlib): about 4 s on a 2-core CPU before a single metric is
computed. The evaluator needs only ``ranx.metrics`` (numba and numpy: about 0.6 s).

So, when ranx is not imported yet, :func:`metric_switch` registers ``ranx`` as a *lazy*
package: the real package (same path, same spec), whose ``__init__`` runs the first time any
name is looked up on it (``ranx.fuse``, ``from ranx import Qrels``). Submodules import as
usual meanwhile (``ranx.metrics``, and numba re-importing a kernel's module to load it from its
on-disk cache). Nothing else changes: numba's threading layer is set as ``ranx/__init__`` sets
it, and code that uses the whole package gets the whole package. When ranx is already
imported, its own ``ranx.metrics`` is used.
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()
_SWITCH: Callable[[str], Any] | None = None


class _LazyPackage(types.ModuleType):
    """A package whose ``__init__`` runs on the first attribute it does not have yet."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or self.__dict__.get("_rankify_lite_done"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        complete(self)
        return getattr(self, name)


def complete(module: types.ModuleType) -> None:
    """Run the package's own ``__init__`` in its namespace (once)."""
    with _LOCK:
        if module.__dict__.get("_rankify_lite_done"):
            return
        module.__dict__["_rankify_lite_done"] = True
        spec = module.__spec__
        with open(spec.origin, "rb") as fh:
            code = compile(fh.read(), spec.origin, "exec")
        exec(code, module.__dict__)  # noqa: S102 - the installed ranx package's own __init__


def metric_switch(name: str) -> Any:
    """ranx's kernel for metric family ``name`` (``ranx.metrics.metric_switch``)."""
    global _SWITCH
    if _SWITCH is None:
        with _LOCK:
            if _SWITCH is None:
                _SWITCH = _load()
    return _SWITCH(name)


def _load() -> Callable[[str], Any]:
    if "ranx" not in sys.modules:
        import importlib.util

        spec = importlib.util.find_spec("ranx")
        if spec is not None and spec.origin and spec.submodule_search_locations:
            from numba import config

            config.THREADING_LAYER = "workqueue"  # what ranx/__init__.py sets on import
            package = _LazyPackage("ranx")
            package.__spec__, package.__file__ = spec, spec.origin
            package.__path__ = list(spec.submodule_search_locations)
            package.__package__, package.__loader__ = "ranx", spec.loader
            sys.modules["ranx"] = package
    from ranx.metrics import metric_switch as switch

    return switch
