"""The identity reranker: keeps the first-stage order (a baseline and a pipeline test aid)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rankify_lite.file_policy import FileOptions
from rankify_lite.rerankers.base import Reranker, RerankItem, Scored


class IdentityReranker(Reranker):
    family = "identity"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("model",))

    def __init__(self, model: str | None = None) -> None:
        pass  # ``model`` is accepted (and ignored) so one --model can serve several families

    def config(self) -> dict[str, Any]:
        return {"family": self.family}

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        return [[(d.id, float(len(it.documents) - i)) for i, d in enumerate(it.documents)]
                for it in items]
