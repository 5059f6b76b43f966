"""Input checks that every retriever family applies before indexing."""

from __future__ import annotations

from collections.abc import Sized

from rankify_lite.errors import InputError


def require_documents(corpus: Sized) -> None:
    """Raise an InputError for an empty corpus (there is nothing to index)."""
    if len(corpus) == 0:
        raise InputError("the corpus is empty: there is nothing to index.",
                         fix="pass a corpus with at least one document (check the dataset "
                             "path or filter).")
