"""Leaderboard config validation: good configs parse, bad ones name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rankify_lite.errors import InputError
from rankify_lite.leaderboard import load_config, parse_config

MAIN = Path(__file__).resolve().parents[2] / "benchmarks" / "leaderboards" / "main.yaml"

GOOD = {
    "name": "t", "metrics": ["ndcg@10"],
    "datasets": ["trec-dl/dl19-passage"],
    "first_stages": [{"name": "bm25", "run": "bm25.top100"}],
    "rerankers": [{"name": "same", "family": "identity", "depth": 20}],
    "baseline": "bm25",
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lb.yaml"
    path.write_text(text)
    return path


def test_shipped_main_config_parses():
    cfg = load_config(MAIN)
    assert cfg.name == "main" and cfg.main_metric == "ndcg@10"
    assert [d.label for d in cfg.datasets] == ["SciFact", "DL19", "DL20"]
    families = {r.family for r in cfg.rerankers}
    assert {"bi-encoder", "first", "listwise", "pointwise"} <= families
    # the LLM rerankers only apply to DL, and only over BM25
    first = next(r for r in cfg.rerankers if r.family == "first")
    assert first.applies_to("trec-dl/dl19-passage", "bm25")
    assert not first.applies_to("beir/scifact", "bm25")
    assert not first.applies_to("trec-dl/dl19-passage", "splade++")
    assert cfg.output_dir() == MAIN.parent / "main"


def test_defaults_and_depth_per_reranker():
    cfg = parse_config(GOOD)
    assert cfg.depth == 100 and cfg.rerankers[0].depth == 20
    assert cfg.first_stages[0].build() == "run:bm25.top100"
    assert cfg.rerankers[0].build().family == "identity"


@pytest.mark.parametrize("change, needle", [
    ({"rerankers": [{"name": "x", "famly": "identity"}]}, "'famly' (did you mean 'family'?)"),
    ({"rerankers": [{"name": "x", "family": "no-such"}]}, "unknown reranker family"),
    ({"first_stages": [{"name": "b", "run": "x", "retriever": "bm25"}]}, "exactly one of"),
    ({"first_stages": [{"name": "b", "retriever": "bm99"}]}, "unknown retriever 'bm99'"),
    ({"metrics": ["ndcg@ten"]}, "metrics: 'ndcg@ten'"),
    ({"baseline": "nope"}, "baseline 'nope'"),
    ({"datasets": []}, "missing or empty 'datasets'"),
    ({"depth": 0}, "depth '0' is out of range"),
    ({"rerankers": [{"name": "x", "family": "identity", "datasets": ["beir/nfcorpus"]}]},
     "not in 'datasets'"),
    ({"first_stages": [{"name": "b", "run": "x"}, {"name": "b", "run": "y"}],
      "baseline": None}, "used twice"),
    ({"colour": "red"}, "unknown key 'colour'"),
])
def test_bad_configs_name_file_and_key(tmp_path, change, needle):
    import yaml

    path = _write(tmp_path, yaml.safe_dump({**GOOD, **change}))
    with pytest.raises(InputError) as err:
        load_config(path)
    assert needle in str(err.value)
    assert str(path) in str(err.value)  # the message names the config file
    assert "Fix:" in str(err.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = _write(tmp_path, "name: t\ndatasets: [a, b\nfirst_stages: []\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert err.value.path == str(path) and err.value.line is not None


def test_missing_file():
    with pytest.raises(InputError, match="does not exist"):
        load_config("/nonexistent/lb.yaml")
