"""Build a component back from its saved spec (what ``rerun`` and Ray workers do).

Kept out of :mod:`rankify_lite.spec` so that the spec stays a leaf: this module imports the
registries (rerankers, retrievers, run first stages), the spec module imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.spec import NESTED, ComponentSpec


def build(spec: ComponentSpec) -> Any:
    """The component ``spec`` describes, built through its registry."""
    if not spec.rebuildable:
        raise InputError(f"{spec.kind} {spec.family!r} can't be rebuilt from its saved spec: "
                         f"{spec.why}.", fix="build it from a model id, a file or a name "
                         "(not a live object), or rerun it from Python.")
    options = {k: _thaw(v) for k, v in spec.options.items()}
    if spec.kind == "reranker":
        from rankify_lite.rerankers.registry import family_info, load_reranker
        from rankify_lite.spec import with_legacy_defaults

        return load_reranker(spec.family, **with_legacy_defaults(
            family_info(spec.family).cls(), options))
    from rankify_lite.retrievers.registry import build_component

    return build_component(spec.kind, spec.family, options)


def _thaw(value: Any) -> Any:
    """Nested specs back into components (the retrievers of a fusion)."""
    if isinstance(value, Mapping) and set(value) == {NESTED}:
        return build(ComponentSpec.from_dict(value[NESTED]))
    if isinstance(value, list):
        return [_thaw(v) for v in value]
    return value
