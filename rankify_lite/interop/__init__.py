"""Interoperability with other IR toolkits.

- :mod:`rankify_lite.interop.frames`: our Run / Qrels / Queries to and from PyTerrier's (pandas)
  DataFrames; no PyTerrier needed.
- :mod:`rankify_lite.interop.pyterrier`: our retrievers and rerankers as PyTerrier transformers
  (``pip install 'rankify-lite[pyterrier]'``).

Nothing here is imported by ``import rankify_lite``.
"""
