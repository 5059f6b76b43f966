"""``rankify-lite rerun meta.json`` rebuilds every registered reranker family from its saved spec
and reproduces byte-identical run files (tiny random-weight models, real DL19 candidates)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rankify_lite import Pipeline, load_reranker
from rankify_lite.cli.main import main
from rankify_lite.rerankers.registry import families


def _tiny_cross_encoder(path: Path) -> dict:
    import torch
    import transformers
    from helpers.tiny import tiny_bert_folder

    tiny_bert_folder(path)
    cfg = transformers.BertConfig.from_pretrained(path, num_labels=1)
    torch.manual_seed(1)
    transformers.BertForSequenceClassification(cfg).eval().save_pretrained(path)
    return {"model": str(path), "max_length": 48}


def _tiny_bi_encoder(path: Path) -> dict:
    from helpers.tiny import tiny_bert_folder

    return {"model": tiny_bert_folder(path), "max_length": 48}


def _tiny_colbert(path: Path) -> str:
    from helpers.tiny_colbert import tiny_colbert_folder

    return tiny_colbert_folder(path)


def _llm(path: Path, **extra) -> dict:
    from helpers.tiny import tiny_llm_folder

    return {"model": tiny_llm_folder(path), "device": "cpu", **extra}


def _tiny_t5(path: Path) -> dict:
    from helpers.tiny import WORDS, tiny_t5_folder

    texts = [" ".join(WORDS)] * 50 + ["Query: Document: Relevant: true false"] * 50
    return {"model": tiny_t5_folder(path, texts), "device": "cpu"}


BUILDERS = {
    "identity": lambda p: {},
    "cross-encoder": _tiny_cross_encoder,
    "bi-encoder": _tiny_bi_encoder,
    "colbert": lambda p: {"model": _tiny_colbert(p), "device": "cpu"},
    "first": lambda p: _llm(p, window_size=4, stride=2, passage_words=12),
    "listwise": lambda p: _llm(p, window_size=4, stride=2, passage_words=12),
    "pointwise": lambda p: _llm(p),
    "icr": lambda p: _llm(p, passage_words=12),
    "pairwise": lambda p: _llm(p, top_k=2, passage_words=12),
    "setwise": lambda p: _llm(p, k=3, passage_tokens=16),
    "monot5": _tiny_t5,
    "causal-lm": lambda p: _llm(p, max_length=256),
    "duot5": _tiny_t5,
    "rank1": lambda p: _llm(p, reasoning_token_budget=6, passage_words=12),
    "reasonrank": lambda p: _llm(p, window_size=4, stride=2, passage_words=12,
                                 reasoning_token_budget=8),
    "erank": lambda p: _llm(p, reasoning_token_budget=6, text_tokens=32),
    "grouprank": lambda p: _llm(p, group_size=3, interval=3, repeats=1, max_new_tokens=8,
                                max_doc_chars=100),
    "rankllama": lambda p: _llm(p),  # a causal LM: the untrained head is drawn from seed 0
    "dear-p": lambda p: _llm(p),
    "dear-l": lambda p: _llm(p, window_size=4, stride=2, passage_words=12, max_new_tokens=8),
    "rank-r1": lambda p: _llm(p, num_child=2, k=2, passage_tokens=16, reasoning_token_budget=6,
                              answer_tokens=4),
}


def _small_dl19(shared_data: Path, folder: Path, n: int = 4) -> str:
    """A BEIR-layout folder with the first ``n`` DL19 queries, their BM25 top-6 and passages."""
    import json as _json

    src = shared_data / "trec-dl" / "dl19-passage"
    lines = (src / "runs" / "run.bm25.top100.trec").read_text().splitlines()
    qids = list(dict.fromkeys(line.split()[0] for line in lines))[:n]
    keep = [line for line in lines if line.split()[0] in qids and int(line.split()[3]) <= 6]
    docs = {line.split()[2] for line in keep}
    (folder / "qrels").mkdir(parents=True)
    (folder / "runs").mkdir()
    (folder / "runs" / "run.bm25.top6.trec").write_text("\n".join(keep) + "\n")
    with open(src / "corpus.jsonl") as fh:
        (folder / "corpus.jsonl").write_text("".join(
            line for line in fh if _json.loads(line)["_id"] in docs))
    with open(src / "queries.jsonl") as fh:
        (folder / "queries.jsonl").write_text("".join(
            line for line in fh if _json.loads(line)["_id"] in qids))
    qrels = [line for line in (src / "qrels" / "test.tsv").read_text().splitlines()[1:]
             if line.split()[0] in qids]
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    return str(folder)


def test_every_family_has_a_rerun_check():
    missing = sorted(f.key for f in families() if f.key not in BUILDERS)
    assert not missing, f"add a tiny-model builder for {missing} to this test"


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_rerun_reproduces_byte_identical_runs(family, shared_data, tmp_path, capsys):
    options = BUILDERS[family](tmp_path / "model")
    reranker = load_reranker(family, **options)
    spec = reranker.spec()
    assert spec.rebuildable and spec.family == family and spec.kind == "reranker"
    json.dumps(spec.as_dict())  # the spec is plain data
    ds = _small_dl19(shared_data, tmp_path / "dl19-small")
    result = Pipeline("run:bm25.top6", reranker, depth=6, cache=False, progress=False).run(ds)
    meta = result.save(tmp_path / "a")
    assert main(["rerun", str(meta), "--output", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    files = json.loads(meta.read_text())["files"]
    assert len(files) == 2
    for fname in files.values():
        assert (tmp_path / "a" / fname).read_bytes() == (tmp_path / "b" / fname).read_bytes()


def test_live_objects_are_refused_with_the_reason(tmp_path):
    from rankify_lite.pipeline.rebuild import reranker_from_config
    from rankify_lite.rerankers.base import Reranker

    class Live(Reranker):
        family = "live-test"

        def __init__(self, model: object) -> None:
            self.model = model

        def config(self) -> dict:
            return {"family": self.family}

        def _rerank_batch(self, items):  # pragma: no cover - never called
            return []

    spec = Live(object()).spec()
    assert not spec.rebuildable and "model" in spec.why
    from rankify_lite.errors import InputError

    with pytest.raises(InputError, match="can't be rebuilt"):
        reranker_from_config({"family": "live-test", "spec": spec.as_dict()})
