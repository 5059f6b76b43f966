"""Where reranking and corpus encoding run: in this process, or sharded across Ray workers.

``Pipeline(..., executor=RayExecutor())`` gives the same run files as the default in-process
path (see ray_executor.py for how). Ray is optional: ``pip install 'rankify-lite[ray]'``.
"""

from __future__ import annotations

from typing import Any

from rankify_lite.executors.base import Executor, LocalExecutor

__all__ = ["Executor", "LocalExecutor", "RayExecutor"]


def __getattr__(name: str) -> Any:
    if name == "RayExecutor":  # lazy: importing the package never imports ray
        from rankify_lite.executors.ray_executor import RayExecutor

        return RayExecutor
    raise AttributeError(name)
