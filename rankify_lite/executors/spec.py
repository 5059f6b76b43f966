"""How a worker rebuilds a reranker: from its saved spec, or from a pickled copy.

A reranker whose ``spec()`` is rebuildable (a registered family built from plain options: a
model id or folder, batch sizes, ...) is rebuilt by each worker with ``load_reranker(family,
**options)``, so a 7B model is never shipped over the network. Any other reranker (a live
backend object, a class outside the registry) is shipped as a pickled copy: exact, but its
weights travel once to each worker (fine for small CPU models, not for large ones).
"""

from __future__ import annotations

from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.rerankers.base import Reranker


def recipe(reranker: Reranker) -> tuple[str, Any]:
    """("spec", the saved spec as a dict) when the reranker can be rebuilt, else ("pickle", it)."""
    from rankify_lite.rerankers.registry import families

    spec = reranker.spec()
    if spec.rebuildable and spec.family in {f.key for f in families()}:
        return "spec", spec.as_dict()
    return "pickle", reranker


def rebuild(kind: str, payload: Any, expected_config: dict[str, Any], per_call: int,
            depth: int) -> Reranker:
    """Build the reranker a worker uses and check it matches the driver's."""
    if kind == "spec":
        from rankify_lite.builders import build
        from rankify_lite.spec import ComponentSpec

        reranker = build(ComponentSpec.from_dict(payload))
    else:
        reranker = payload
    if reranker.config() != expected_config or reranker.queries_per_call(depth) != per_call:
        raise InputError(
            f"the reranker rebuilt in a worker differs from the driver's: config "
            f"{reranker.config()} vs {expected_config}, queries per call "
            f"{reranker.queries_per_call(depth)} vs {per_call}.",
            fix="make sure every worker sees the same model files and package versions, or "
                "build the reranker from plain options (a model id or folder) so its spec "
                "rebuilds it exactly.")
    return reranker
