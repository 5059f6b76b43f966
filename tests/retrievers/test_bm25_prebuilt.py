"""BM25 on pyserini's prebuilt indexes by pyserini's names, tested offline: a small index (our
own Lucene index of SciFact, built here) is placed where pyserini's prebuilt loader looks, so the
loader finds it and nothing is downloaded (the download function is replaced by one that fails)."""

from __future__ import annotations

import shutil
import warnings

import pytest
from helpers.extras import LUCENE

from rankify_lite.errors import InputError, RankifyError
from rankify_lite.evaluation import evaluate
from rankify_lite.retrievers import BM25

pytestmark = [LUCENE, pytest.mark.slow]
PUBLISHED = {"flat": (0.6789, 0.9253, 0.9767), "multifield": (0.6647, 0.9076, 0.9800)}
METRICS = ["ndcg@10", "recall@100", "recall@1000"]


@pytest.fixture(scope="module")
def pyserini_cache(scifact, tmp_path_factory):
    """pyserini's cache in a temporary folder, holding our own Lucene indexes of SciFact (flat
    and multifield) under the names of pyserini's prebuilt SciFact indexes; downloads fail."""
    from rankify_lite.retrievers.java import ensure_jvm

    ensure_jvm()  # before any pyserini import: pyserini would start a JVM of its own
    import pyserini.util

    from rankify_lite.retrievers.bm25_prebuilt import prebuilt_location

    root = tmp_path_factory.mktemp("prebuilt")

    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYSERINI_CACHE", str(root / "pyserini"))
        mp.setattr(pyserini.util, "download_prebuilt_index", no_download)
        for fields in ("flat", "multifield"):
            own = BM25(fields=fields, index_root=root / "own", progress=False).index(scifact.corpus)
            target = prebuilt_location(f"beir-v1.0.0-scifact.{fields}")
            assert target.parent == root / "pyserini" / "indexes" and "scifact" in target.name
            shutil.copytree(own.index_dir / "lucene", target)
            own.close()
        yield root


@pytest.mark.parametrize("fields", ["flat", "multifield"])
def test_prebuilt_beir_index_by_pyserini_name(fields, scifact, pyserini_cache):
    name = f"beir-v1.0.0-scifact.{fields}"
    bm25 = BM25(index=name)
    assert bm25.fields == fields                                 # follows the index
    run = bm25.retrieve(scifact.queries, k=1000, exclude_self_hits=True)   # no corpus needed
    got = evaluate(run, scifact.qrels, METRICS).mean
    assert tuple(round(got[m], 4) for m in METRICS) == PUBLISHED[fields]   # Anserini's numbers
    own = BM25(fields=fields, index_root=pyserini_cache / "own").retrieve(
        scifact.queries, k=1000, exclude_self_hits=True, corpus=scifact.corpus)
    assert run.to_dict() == own.to_dict()                         # the same search
    config = bm25.config()
    from rankify_lite.retrievers.bm25_prebuilt import prebuilt_info

    assert config["index"] == name and config["index_md5"] == prebuilt_info(name)["md5"]
    assert config["index_documents"] == 5183
    assert bm25.spec().options == {"index": name} and bm25.spec().rebuildable
    assert BM25(**bm25.spec().options).config() == config         # rebuilt from its spec
    with warnings.catch_warnings():
        warnings.simplefilter("error")                           # same size: no warning
        bm25.index(scifact.corpus)
    bm25.close()


def test_a_pipeline_records_the_prebuilt_index(scifact, pyserini_cache, tmp_path):
    from rankify_lite import Pipeline

    name = "beir-v1.0.0-scifact.flat"
    result = Pipeline(BM25(index=name), cache=tmp_path / "runs").run(scifact)
    assert round(result.metrics[f"bm25-{name}"]["ndcg@10"], 4) == 0.6789
    recorded = result.metadata["pipeline"]["retriever"]
    assert recorded["index"] == name and len(recorded["index_md5"]) == 32
    assert result.metadata["pipeline"]["first_stage"]["options"] == {"index": name}


def test_unknown_names_and_bad_combinations_are_refused():
    with pytest.raises(InputError, match="beir-v1.0.0-scifact.flat"):
        BM25(index="beir-v1.0.0-scifact.flt").config()
    with pytest.raises(InputError, match="Lucene"):
        BM25(index="msmarco-v1-passage", backend="bm25s")
    with pytest.raises(InputError, match="is a flat index"):
        BM25(index="msmarco-v1-passage", fields="multifield")
    assert BM25(index="msmarco-v1-passage").config()["index_documents"] == 8841823


def test_a_missing_index_offline_says_where_to_put_it(pyserini_cache, monkeypatch):
    import pyserini.util  # (the fixture started our JVM first)

    def offline(*args, **kwargs):
        raise ValueError("Unable to download prebuilt index at any known URLs.")

    monkeypatch.setattr(pyserini.util, "download_prebuilt_index", offline)
    from rankify_lite.retrievers.bm25_prebuilt import prebuilt_location

    with pytest.raises(RankifyError) as err:
        BM25(index="beir-v1.0.0-nfcorpus.flat").retrieve({"q": "vitamin d"}, k=10)
    assert str(prebuilt_location("beir-v1.0.0-nfcorpus.flat")) in str(err.value)
    assert "Fix:" in str(err.value) and "PYSERINI_CACHE" in str(err.value)
