"""A cache key names exactly what computed its entry (issue #38, item 4b): for every setting
that enters a reranking key (the tie rule, the depth, a model option), a cached result equals a
fresh computation, through the Python API, the leaderboard (LazyReranker) and the CLI; and a
bump of the key version means entries written before a fix are never served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.tie_reranker import registered, tie_dataset

from rankify_lite import Pipeline, load_reranker
from rankify_lite.cli.main import main as cli
from rankify_lite.leaderboard import load_config, run_leaderboard
from rankify_lite.pipeline import keys

#: (ties, depth, levels): each differs from the first in exactly one setting that enters a key
VARIANTS = [("trec_eval", 4, 2), ("first-stage", 4, 2), ("trec_eval", 8, 2), ("trec_eval", 4, 3),
            ("first-stage", 8, 3)]
METRICS = ["ndcg@3", "ndcg@10", "recall@3"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    with registered():
        yield tie_dataset(tmp_path_factory.mktemp("ties") / "data")


def _pipeline(ties: str, depth: int, levels: int, cache) -> Pipeline:
    return Pipeline("run:first", load_reranker("bucket-test", levels=levels, ties=ties),
                    depth=depth, metrics=METRICS, cache=cache, progress=False)


def _final(result) -> dict:
    return result.runs[list(result.runs)[-1]].to_dict()


def test_the_settings_change_the_run(data):
    """Otherwise the tests below could not tell one key from another."""
    fresh = [json.dumps(_final(_pipeline(*v, cache=False).run(str(data))), sort_keys=True)
             for v in VARIANTS]
    assert len(set(fresh)) == len(VARIANTS)


def test_python_api_cached_equals_fresh_for_every_setting(data, tmp_path):
    cache = tmp_path / "cache"
    for v in VARIANTS:  # all variants stored in one cache, one after the other
        assert _pipeline(*v, cache=cache).run(str(data)).timing.cached in ([], ["first"])
    for v in VARIANTS:  # each served its own entry, equal to a fresh computation
        cached = _pipeline(*v, cache=cache).run(str(data))
        assert len(cached.timing.cached) == 2, v
        assert _final(cached) == _final(_pipeline(*v, cache=False).run(str(data))), v


def _board(data: Path, folder: Path) -> Path:
    entries = "\n".join(
        f"  - {{name: r{i}, family: bucket-test, depth: {depth}, "
        f"options: {{levels: {levels}, ties: {ties}}}}}"
        for i, (ties, depth, levels) in enumerate(VARIANTS))
    path = folder / "board.yaml"
    path.write_text(f"name: keys\nmetrics: {METRICS}\ndatasets: [{data}]\n"
                    f"first_stages:\n  - {{name: first, run: first}}\nrerankers:\n{entries}\n")
    return path


def test_leaderboard_entries_equal_fresh_runs_and_feed_the_cli_correctly(data, tmp_path,
                                                                         monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "home"))  # LazyReranker's memo
    board = run_leaderboard(load_config(_board(data, tmp_path)), cache=cache, progress=False,
                            log=None)
    (d,) = board.datasets
    for i, v in enumerate(VARIANTS):  # the lazy wrapper computes what its key names
        fresh = _pipeline(*v, cache=False).run(str(data))
        board_scores = d.system(f"first>>r{i}").per_query
        for m in METRICS:
            assert board_scores[m] == pytest.approx(fresh.per_query(m)[_final_name(fresh)]), v
    # the case: a correct run on the leaderboard's cache is served the board's entry
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "home"))
    for i, (ties, depth, levels) in enumerate(VARIANTS):
        outs = []
        for extra in ([], ["--no-cache"]):
            out = tmp_path / f"cli-{i}-{len(extra)}"
            spec = f"bucket-test levels={levels} ties={ties}"
            assert cli(["run", "--dataset", str(data), "--retriever", "run:first", "--reranker",
                        spec, "--depth", str(depth), "--output", str(out), *extra]) == 0
            outs.append({p.name: p.read_text() for p in out.glob("*.trec")})
        capsys.readouterr()
        assert outs[0] == outs[1] and outs[0], (ties, depth, levels)


def _final_name(result) -> str:
    return list(result.runs)[-1]


def test_an_entry_written_under_an_older_key_version_is_never_served(data, tmp_path,
                                                                     monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setattr(keys, "KEY_VERSION", keys.KEY_VERSION - 1)
    assert not _pipeline("first-stage", 4, 2, cache).run(str(data)).timing.cached
    assert _pipeline("first-stage", 4, 2, cache).run(str(data)).timing.cached  # same version
    monkeypatch.undo()
    again = _pipeline("first-stage", 4, 2, cache).run(str(data))
    assert not again.timing.cached  # neither the first stage nor the reranked run
    assert sorted(p.name.split("-")[0] for p in cache.glob("*.trec")) == ["first"] * 2 + \
        ["rerank"] * 2


def test_the_key_reads_the_tie_rule_where_the_driver_reads_it(data):
    """A wrapper whose config() names one tie rule while the driver applies another (LazyReranker
    before #38) gets a key of its own, not the key of the rule its config names."""
    honest = load_reranker("bucket-test", levels=2, ties="first-stage")
    lying = load_reranker("bucket-test", levels=2)
    lying.config = honest.config  # the remembered config; the driver still reads ties=trec_eval
    assert lying.config() == honest.config() and lying.ties != honest.ties
    assert keys.rerank_key("src", lying, 4) != keys.rerank_key("src", honest, 4)
    assert keys.rerank_key("src", honest, 4) == keys.rerank_key(
        "src", load_reranker("bucket-test", levels=2, ties="first-stage"), 4)


def test_pyterrier_layer_cached_equals_fresh_for_every_setting(data, tmp_path):
    pytest.importorskip("pandas", reason="the PyTerrier layer reads pandas frames")
    from rankify_lite import load_dataset
    from rankify_lite.interop.frames import frame_to_run, run_to_frame
    from rankify_lite.interop.pyterrier import RerankerTransformer

    ds = load_dataset(str(data))
    frame = run_to_frame(ds.load_run("first"), ds.queries)

    def transformer(ties, depth, levels, cache):
        return RerankerTransformer(load_reranker("bucket-test", levels=levels, ties=ties),
                                   ds.corpus, depth=depth, cache=cache)

    fresh = {v: frame_to_run(transformer(*v, cache=False).transform(frame)).to_dict()
             for v in VARIANTS}
    assert len({json.dumps(r, sort_keys=True) for r in fresh.values()}) == len(VARIANTS)
    for _ in range(2):  # stored, then served
        for v in VARIANTS:
            stage = transformer(*v, cache=tmp_path / "pt")
            assert frame_to_run(stage.transform(frame)).to_dict() == fresh[v], v
    assert stage.cached
