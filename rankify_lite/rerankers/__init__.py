"""Rerankers: the contract (base.py, driver.py), a registry of families (registry.py; each
family's class lives in its own module, beside the LLM machinery, engines/ and prompts/)."""

from rankify_lite.rerankers.base import Reranker, RerankItem
from rankify_lite.rerankers.registry import families, load_reranker, register

__all__ = ["Reranker", "RerankItem", "families", "load_reranker", "register"]
