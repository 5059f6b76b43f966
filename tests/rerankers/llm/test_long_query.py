"""A query longer than the context is named as such (a smaller window can't help), and
``query_words`` truncates it (issue #23, item 11). Tiny random-weight Llama, SmolLM2 tokenizer."""

from __future__ import annotations

import pytest
from helpers.extras import requires

from rankify_lite.types import Corpus, Document, Queries, Query, Run

pytestmark = requires("torch", "transformers", extra="llm")

LONG = ("word " * 40_000).strip()  # 200,000 characters


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from helpers.tiny import tiny_llm_folder

    return tiny_llm_folder(tmp_path_factory.mktemp("llm"))


def _inputs():
    docs = [Document(f"d{i}", f"passage number {i} about words") for i in range(4)]
    run = Run.from_scores({"q": {d.id: 4.0 - i for i, d in enumerate(docs)}})
    return Queries({"q": Query("q", LONG)}), run, Corpus.from_documents(docs)


@pytest.mark.parametrize("family", ["first", "listwise"])
def test_a_query_longer_than_the_context_says_so(model, family):
    from rankify_lite import load_reranker

    queries, run, corpus = _inputs()
    rr = load_reranker(family, model=model, window_size=4, stride=2, device="cpu")
    with pytest.raises(Exception, match="alone exceeds the context") as err:
        rr.rerank(queries, run, corpus, depth=4)
    assert "query_words=N" in str(err.value) and "smaller window_size" not in str(err.value)
    short = load_reranker(family, model=model, window_size=4, stride=2, device="cpu",
                          query_words=50)
    out = short.rerank(queries, run, corpus, depth=4)
    assert sorted(out["q"].doc_ids) == sorted(run["q"].doc_ids)
    assert short.config()["query_words"] == 50 and "query_words" not in rr.config()
