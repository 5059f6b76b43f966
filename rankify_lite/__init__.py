"""rankify_lite: retrieve, rerank and evaluate for IR research.

Importing the package is light: torch, pyserini and the JVM load only when a model or index is
used. The public names below are resolved lazily on first access.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Query": "rankify_lite.types", "Document": "rankify_lite.types",
    "Corpus": "rankify_lite.types", "Queries": "rankify_lite.types",
    "Qrels": "rankify_lite.types", "Run": "rankify_lite.types",
    "RankedList": "rankify_lite.types",
    "Dataset": "rankify_lite.datasets", "load_dataset": "rankify_lite.datasets",
    "available_datasets": "rankify_lite.datasets",
    "evaluate": "rankify_lite.evaluation", "compare": "rankify_lite.evaluation",
    "load_reranker": "rankify_lite.rerankers",
    "BM25": "rankify_lite.retrievers", "Dense": "rankify_lite.retrievers",
    "Splade": "rankify_lite.retrievers", "Fusion": "rankify_lite.retrievers",
    "Pipeline": "rankify_lite.pipeline",
    "read_run": "rankify_lite.io.trec", "write_run": "rankify_lite.io.trec",
    "read_qrels": "rankify_lite.io.trec",
}

__all__ = ["BM25", "Corpus", "Dataset", "Dense", "Document", "Fusion", "Pipeline", "Qrels",
           "Queries", "Query", "RankedList", "Run", "Splade", "__version__", "available_datasets",
           "compare", "evaluate", "load_dataset", "load_reranker", "read_qrels", "read_run",
           "write_run"]

if TYPE_CHECKING:  # pragma: no cover
    from rankify_lite.datasets import Dataset, available_datasets, load_dataset
    from rankify_lite.evaluation import compare, evaluate
    from rankify_lite.io.trec import read_qrels, read_run, write_run
    from rankify_lite.rerankers import load_reranker
    from rankify_lite.types import Corpus, Document, Qrels, Queries, Query, RankedList, Run


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rankify_lite' has no attribute {name!r}")
