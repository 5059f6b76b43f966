import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import _synthetic  # noqa: E402


def _read(folder):
    return [(folder / f).read_text() for f in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")]


def test_generator_is_deterministic(tmp_path):
    a = _synthetic.generate(tmp_path / "a", 300, n_queries=20, vocab=2000, chunk=64)
    b = _synthetic.generate(tmp_path / "b", 300, n_queries=20, vocab=2000, chunk=64)
    assert _read(a) == _read(b)
    c = _synthetic.generate(tmp_path / "c", 300, n_queries=20, vocab=2000, chunk=64, seed=1)
    assert _read(c)[0] != _read(a)[0]


def test_complete_folder_is_reused_not_regenerated(tmp_path):
    a = _synthetic.generate(tmp_path / "a", 300, n_queries=20, vocab=2000, chunk=64)
    (a / "corpus.jsonl").write_text("kept\n")
    assert _synthetic.generate(a, 300, n_queries=20, vocab=2000, chunk=64) == a
    assert (a / "corpus.jsonl").read_text() == "kept\n"


def test_length_and_zipf_shape(tmp_path):
    f = _synthetic.generate(tmp_path / "z", 2000, n_queries=50, vocab=5000, chunk=256)
    docs = [json.loads(x)["text"].split() for x in (f / "corpus.jsonl").open()]
    assert len(docs) == 2000
    lens = np.array([len(d) for d in docs])
    assert 50 < lens.mean() < 70 and lens.min() >= 5
    counts = np.array(sorted(Counter(w for d in docs for w in d).values(), reverse=True))
    ranks = np.arange(1, 201)
    slope = np.polyfit(np.log(ranks), np.log(counts[:200]), 1)[0]
    assert -1.4 < slope < -0.8
    queries = [json.loads(x) for x in (f / "queries.jsonl").open()]
    qrels = (f / "qrels" / "test.tsv").read_text().splitlines()[1:]
    assert len(queries) == 50 == len(qrels)
    by_id = {f"d{i}": d for i, d in enumerate(docs)}
    for q, line in zip(queries, qrels, strict=True):
        qid, did, _ = line.split("\t")
        assert qid == q["_id"] and 3 <= len(q["text"].split()) <= 8
        assert q["text"] in " ".join(by_id[did])
