"""benchmarks/leaderboards/papers_gpu.yaml (the papers' released checkpoints, run by
benchmarks/gpu_all.sh on a GPU) is a valid leaderboard of registered families, and
gpu_papers.py names every row whose weights are not cached instead of failing offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_every_row_is_a_registered_family_with_a_real_checkpoint():
    from rankify_lite.leaderboard import load_config
    from rankify_lite.rerankers.registry import family_info

    config = load_config(BENCH / "leaderboards" / "papers_gpu.yaml")
    families = {r.family for r in config.rerankers}
    assert {"rank-r1", "rankllama", "dear-p", "dear-l", "erank", "grouprank"} <= families
    for r in config.rerankers:
        family_info(r.family)  # registered
        assert r.model and "/" in r.model and "smollm" not in r.model.lower()


def test_uncached_checkpoints_are_skipped_and_named(tmp_path, monkeypatch):
    import torch

    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("gpu_papers", None)
    import gpu_papers

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: gpu_papers.py would run the cached checkpoints")
    monkeypatch.setattr(gpu_papers, "cached", lambda model: False)
    assert gpu_papers.main(["--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "papers" / "skipped.json").read_text())
    assert report["rows"] == [] and "rank-r1-7b" in report["skipped"]
    assert "not in the local Hugging Face cache" in report["skipped"]["dear-l-8b"]
