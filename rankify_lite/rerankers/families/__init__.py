"""Reranker families: one file per family, one class each, registered by key in
``rerankers/registry.py``. Nothing is imported here: a family's module loads when it is used."""
