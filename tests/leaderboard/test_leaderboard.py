"""A tiny leaderboard over the shipped DL19 runs: numbers, significance, artefacts, cache."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rankify_lite.cli.main import main as cli
from rankify_lite.leaderboard import load_config, run_leaderboard
from rankify_lite.leaderboard.config import RerankerSpec
from rankify_lite.leaderboard.plots import winloss_counts
from rankify_lite.leaderboard.report import to_latex, to_markdown, write_reports

CONFIG = """
name: tiny
title: Tiny DL19 board
metrics: [ndcg@10, recall@100]
depth: 100
datasets: [{name: trec-dl/dl19-passage, label: DL19}]
first_stages:
  - {name: bm25, run: bm25.top100}
  - {name: splade++, run: splade-pp-ed.top100}
rerankers:
  - {name: same, family: identity, first_stages: [bm25]}
  - {name: same10, family: identity, depth: 10}
baseline: bm25
"""


@pytest.fixture(scope="module")
def board(tmp_path_factory, shared_data):
    folder = tmp_path_factory.mktemp("lb")
    path = folder / "tiny.yaml"
    path.write_text(CONFIG)
    cache = folder / "cache"
    config = load_config(path)
    result = run_leaderboard(config, cache=cache, progress=False, log=None)
    return config, result, cache


def test_scores_and_significance(board):
    _, result, _ = board
    (d,) = result.datasets
    assert d.queries == 43 and d.baseline == "bm25"
    names = [s.name for s in d.systems]
    assert names == ["bm25", "bm25>>same", "bm25>>same10", "splade++", "splade++>>same10"]
    assert d.system("bm25").mean["ndcg@10"] == pytest.approx(0.5058, abs=5e-5)
    assert d.system("splade++").mean["ndcg@10"] == pytest.approx(0.7308, abs=5e-5)
    assert d.system("bm25").mean["recall@100"] == pytest.approx(0.4910, abs=5e-5)
    # identity keeps the ranking: same scores, not significant vs its first stage (p = 1)
    assert d.system("bm25>>same").mean == d.system("bm25").mean
    assert d.system("splade++>>same10").p_first_stage["ndcg@10"] == 1.0
    assert d.system("bm25").p_first_stage is None
    # SPLADE++ beats BM25 significantly (the published gap is 0.22 nDCG@10 on 43 queries)
    comp = d.comparison
    i_splade, i_bm25 = names.index("splade++"), names.index("bm25")
    assert i_bm25 in comp.better_than["ndcg@10"][i_splade]
    assert comp.p_baseline["ndcg@10"][i_splade] < 0.05
    wins, ties, losses = winloss_counts(d, "ndcg@10")["splade++"]
    assert wins + ties + losses == 43 and wins > losses
    assert winloss_counts(d, "ndcg@10")["bm25>>same"] == (0, 43, 0)


def test_reports_and_plots(board, tmp_path):
    config, result, _ = board
    paths = write_reports(result, tmp_path / "out")
    md = paths["table.md"].read_text()
    assert "| bm25 | 0.5058 |" in md  # summary row
    assert "0.7308<sup>abc</sup> †" in md  # splade++ beats a, b, c; differs from the baseline
    assert "Tiny DL19 board" in md and "‡" in md  # legend explains both marks
    tex = paths["table.tex"].read_text()
    assert "\\begin{tabular}" in tex and "0.7308$^{abc}$$^\\dagger$" in tex
    assert tex == to_latex(result) and md == to_markdown(result)
    with paths["per_query.csv"].open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 * 43
    bm25 = [float(r["ndcg@10"]) for r in rows if r["system"] == "bm25"]
    assert sum(bm25) / len(bm25) == pytest.approx(0.5058, abs=5e-5)
    # the run's own expected-scores file round-trips through --check
    from rankify_lite.leaderboard import check_expected, load_expected

    entries = load_expected(paths["expected.yaml"])
    assert len(entries) == 5
    assert {e.id: e.scores["ndcg@10"] for e in entries}["tiny-dl19-spladepp"] == 0.7308
    results = check_expected(entries, cache=board[2], log=None)
    assert all(r.ok for r in results)
    for name in ("latency.png", "winloss.png"):
        data = paths[name].read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000  # a real figure
    from PIL import Image

    with Image.open(paths["latency.png"]) as im:
        assert im.size[0] > 400 and sum(1 for h in im.convert("L").histogram() if h) > 20


def test_rerun_is_served_from_cache(board, monkeypatch):
    config, first, cache = board
    assert first.computed_stages == 5 and first.cached_stages == 0

    def no_model(self):
        raise AssertionError("a cached rerun must not build (load) any reranker")

    monkeypatch.setattr(RerankerSpec, "build", no_model)
    again = run_leaderboard(config, cache=cache, progress=False, log=None)
    assert again.computed_stages == 0 and again.cached_stages == first.computed_stages
    assert again.means() == first.means()


def test_cli_writes_beside_the_config(tmp_path, shared_data, capsys):
    path = tmp_path / "tiny.yaml"
    path.write_text(CONFIG)
    assert cli(["leaderboard", str(path), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "| splade++ | 0.7308" in out
    assert (tmp_path / "tiny" / "table.md").exists()
    assert not (tmp_path / "tiny" / "latency.png").exists()


def test_cli_bad_config_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("datasets: [x]\nfirst_stages: [{name: b, run: r}]\nrerankers: [{nme: 1}]\n")
    assert cli(["leaderboard", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "'nme'" in err


def test_committed_main_leaderboard_is_complete():
    """The main leaderboard's artefacts are committed beside its config."""
    folder = Path(__file__).resolve().parents[2] / "benchmarks" / "leaderboards" / "main"
    if not folder.exists():
        pytest.skip("main leaderboard not generated yet")
    md = (folder / "table.md").read_text()
    for label in ("SciFact", "DL19", "DL20"):
        assert f"### {label}" in md
    assert "bm25 » minilm-bi" in md and "splade++" in md
    for name in ("table.tex", "per_query.csv", "latency.png", "winloss.png"):
        assert (folder / name).stat().st_size > 1000


def _stage(counts, resumed=0, per_query=None):
    from rankify_lite.stage_stats import StageStats
    from rankify_lite.systems import SystemId

    return StageStats(SystemId("bm25", "x", 10), "rerank", cached=False,
                      per_query_s=per_query or {"q1": 0.5, "q2": 0.5}, resumed_queries=resumed,
                      counts=counts)


def test_malformed_llm_outputs_are_reported():
    from rankify_lite.leaderboard.runner import _run_notes

    assert _run_notes(_stage({})) == ()
    stats = {"windows": 43, "malformed_windows": 43, "missing_ids": 351, "repeated_ids": 0,
             "unknown_ids": 0}
    (note,) = _run_notes(_stage(stats))
    assert note.startswith("43 of 43 LLM outputs were malformed (351 passage ids missing")


def test_forward_passes_per_query_come_from_typed_stage_counts():
    from rankify_lite.leaderboard.runner import _forward_passes

    assert _forward_passes([_stage({"forward_passes": 90})]) == 45.0
    assert _forward_passes([_stage({"prompts": 4})]) == 2.0
    assert _forward_passes([_stage({"prompts": 4}, resumed=1)]) is None
    assert _forward_passes([_stage({})]) is None  # not an LLM
    # a cascade's cost is every stage's: 2 + 45 per query
    assert _forward_passes([_stage({"prompts": 4}), _stage({"forward_passes": 90})]) == 47.0
    assert _forward_passes([_stage({"prompts": 4}), _stage({})]) is None


CASCADES = """
name: cascades
metrics: [ndcg@10]
datasets: [{name: trec-dl/dl19-passage, label: DL19}]
first_stages:
  - {name: bm25, run: bm25.top100}
rerankers:
  - {name: id50, family: identity, depth: 50}
  - {name: then10, family: identity, depth: 10, after: id50}
  - {name: then5, family: identity, depth: 5, after: then10}
"""


def test_cascade_entries_run_as_chains(tmp_path, shared_data):
    path = tmp_path / "cascades.yaml"
    path.write_text(CASCADES)
    config = load_config(path)
    result = run_leaderboard(config, cache=tmp_path / "cache", progress=False, log=None)
    (d,) = result.datasets
    assert [s.name for s in d.systems] == ["bm25", "bm25>>id50", "bm25>>id50>>then10",
                                           "bm25>>id50>>then10>>then5"]
    deepest = d.system("bm25>>id50>>then10>>then5")
    assert deepest.system.stages == (("id50", 50), ("then10", 10), ("then5", 5))
    assert deepest.mean["ndcg@10"] == pytest.approx(d.system("bm25").mean["ndcg@10"])
    assert "bm25 » id50 » then10 » then5" in to_markdown(result)
    # every stage was computed once and is served from the cache next time
    again = run_leaderboard(config, cache=tmp_path / "cache", progress=False, log=None)
    assert again.computed_stages == 0 and again.cached_stages == 4


def test_cascade_entry_errors(tmp_path):
    from rankify_lite.errors import InputError
    from rankify_lite.leaderboard import parse_config

    base = {"datasets": ["trec-dl/dl19-passage"],
            "first_stages": [{"name": "bm25", "run": "bm25.top100"}]}
    with pytest.raises(InputError, match="reranks after 'nope'"):
        parse_config({**base, "rerankers": [{"name": "a", "family": "identity",
                                             "after": "nope"}]})
    with pytest.raises(InputError, match="loop"):
        parse_config({**base, "rerankers": [
            {"name": "a", "family": "identity", "after": "b"},
            {"name": "b", "family": "identity", "after": "a"}]})
    cfg = parse_config({**base, "rerankers": [{"name": "a", "family": "identity"},
                                              {"name": "b", "family": "identity", "after": "a"}],
                        "baseline": "bm25>>a>>b"})
    assert cfg.baseline == "bm25>>a>>b"
