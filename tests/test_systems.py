"""A system's typed identity, rendered in one place."""

from __future__ import annotations

from rankify_lite.systems import SystemId


def test_labels_and_renderings():
    first = SystemId("bm25")
    reranked = SystemId("bm25_flat", "first-smollm2", 10)
    assert first.label == "bm25" and not first.is_reranked
    assert reranked.label == "bm25_flat>>first-smollm2" and str(reranked) == reranked.label
    assert reranked.display() == "bm25_flat » first-smollm2"
    assert reranked.display("latex") == "bm25\\_flat $\\gg$ first-smollm2"
    assert reranked.filename == "bm25_flat__first-smollm2"
    assert SystemId("rrf(bm25+dense)", "x/y").filename == "rrf(bm25+dense)__x_y"
    assert SystemId("BM25 flat", "Mono+T5").slug == "bm25-flat-monopt5"


def test_from_label_reads_the_canonical_name_back():
    s = SystemId("splade++", "first", 100)
    assert SystemId.from_label(s.label, depth=100) == s
    assert SystemId.from_label("bm25") == SystemId("bm25")
    assert s.with_depth(None) == SystemId("splade++", "first")
