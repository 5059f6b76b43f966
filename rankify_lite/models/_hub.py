"""Old name of :mod:`rankify_lite.models.loader` (kept for callers not yet moved over)."""

from __future__ import annotations

from rankify_lite.models.loader import (  # noqa: F401
    OFFLINE_FIX,
    dtype_name,
    from_pretrained,
    load,
    model_file,
    model_json,
    pick_device,
    pick_dtype,
    resolved_revision,
)
