"""The shared-file checker reads nested specs by the key the spec module writes (one copy)."""

from __future__ import annotations

from rankify_lite import spec
from rankify_lite.pipeline import trust


def test_trust_uses_the_spec_modules_nested_key():
    assert trust._NESTED is spec.NESTED
    nested = {spec.NESTED: {"family": "bm25", "options": {}}}
    assert trust._has_nested({"retrievers": [nested]})
    assert not trust._has_nested({"retrievers": [{"$other": {}}]})
