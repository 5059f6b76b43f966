"""Saved results the report tests read (built once per session on real DL19 data)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dl19_result(dl19, tmp_path_factory):
    """A saved DL19 result: BM25 (shipped run) reranked on the top 20 by a fixed arbitrary
    reordering (it moves documents) and by identity (it moves none)."""
    from helpers.slow_reranker import HashReranker

    from rankify_lite import Pipeline, load_reranker

    result = Pipeline("run:bm25.top100", [HashReranker(), load_reranker("identity")], depth=20,
                      cache=False).run(dl19)
    folder = tmp_path_factory.mktemp("dl19-result")
    result.save(folder, overwrite=True)
    return folder, result
