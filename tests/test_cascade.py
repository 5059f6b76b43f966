"""The stage contract (issue #33): a Stage owns its depth, tie rule and name; the batch driver
reads the rule from the stage and needs nothing of a reranker beyond the declared Scorer; the
tie rule reaches the driver through every route a user sets it (Python Stage, load_reranker,
the CLI, a leaderboard YAML entry); cascade, base and driver import without a circle."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers.tie_reranker import registered, tie_dataset

from rankify_lite import Pipeline, load_dataset, load_reranker
from rankify_lite.cascade import Chain, Stage
from rankify_lite.errors import InputError
from rankify_lite.rerankers import driver
from rankify_lite.rerankers.driver import RerankItem, Scored, drive

DEPTH = 8
METRICS = ["ndcg@3", "ndcg@10"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    with registered():
        yield tie_dataset(tmp_path_factory.mktemp("routes") / "data")


@pytest.fixture
def applied(monkeypatch) -> list[str]:
    """Every tie rule the batch driver orders a query's scores by, in call order."""
    seen: list[str] = []
    real = driver.finish

    def spy(original, scored, depth, ties="trec_eval", qid=None):
        seen.append(ties)
        return real(original, scored, depth, ties, qid)

    monkeypatch.setattr(driver, "finish", spy)
    return seen


def _bucket(qid: str, doc: str, levels: int = 2) -> float:  # BucketReranker's score
    return float(int(hashlib.sha256(f"{qid}/{doc}".encode()).hexdigest()[:8], 16) % levels)


def _expected(data: Path, rule: str) -> dict[str, list[str]]:
    """The top DEPTH of each query as the rule orders BucketReranker's tied scores, worked out
    here by hand: first-stage keeps tied documents in first-stage order (d0, d1, ...), trec_eval
    puts the larger doc id first."""
    first = load_dataset(str(data)).load_run("first")
    out = {}
    for qid, rl in first.items():
        head = list(rl.doc_ids[:DEPTH])
        if rule == "first-stage":
            out[qid] = sorted(head, key=lambda d: (-_bucket(qid, d), head.index(d)))
        else:
            out[qid] = sorted(sorted(head, reverse=True), key=lambda d: -_bucket(qid, d))
    return out


def _top(run) -> dict[str, list[str]]:
    return {q: list(rl.doc_ids[:DEPTH]) for q, rl in run.items()}


def test_the_two_rules_order_this_data_differently(data):
    assert _expected(data, "first-stage") != _expected(data, "trec_eval")


def _pipeline_run(data: Path, system) -> tuple:
    result = Pipeline("run:first", system, depth=DEPTH, metrics=METRICS, cache=False,
                      progress=False).run(str(data))
    label = list(result.runs)[-1]
    return result.runs[label], result


def test_route_python_stage(data, applied):
    run, _ = _pipeline_run(data, Stage(load_reranker("bucket-test"), DEPTH, ties="first-stage"))
    assert set(applied) == {"first-stage"} and len(applied) == len(run)
    assert _top(run) == _expected(data, "first-stage")
    assert run.metadata["ties"] == "first-stage"


def test_route_load_reranker_option(data, applied):
    run, _ = _pipeline_run(data, load_reranker("bucket-test", ties="first-stage"))
    assert set(applied) == {"first-stage"}
    assert _top(run) == _expected(data, "first-stage")


def test_route_the_default_is_trec_eval(data, applied):
    run, _ = _pipeline_run(data, load_reranker("bucket-test"))
    assert set(applied) == {"trec_eval"}
    assert _top(run) == _expected(data, "trec_eval")


def test_route_cli_reranker_option(data, applied, tmp_path, capsys):
    from rankify_lite.cli.main import main as cli
    from rankify_lite.io.trec import read_run

    out = tmp_path / "out"
    assert cli(["run", "--dataset", str(data), "--retriever", "run:first", "--reranker",
                "bucket-test ties=first-stage", "--depth", str(DEPTH), "--output", str(out),
                "--no-cache"]) == 0
    capsys.readouterr()
    assert set(applied) == {"first-stage"}
    (reranked,) = [p for p in out.glob("*.trec") if "bucket" in p.name]
    assert _top(read_run(reranked)) == _expected(data, "first-stage")


def test_route_leaderboard_yaml_option(data, applied, tmp_path, monkeypatch):
    from rankify_lite.leaderboard import load_config, run_leaderboard

    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "home"))  # LazyReranker's memo
    board = tmp_path / "board.yaml"
    board.write_text(
        f"name: routes\nmetrics: {METRICS}\ndatasets: [{data}]\n"
        "first_stages:\n  - {name: first, run: first}\nrerankers:\n"
        f"  - {{name: fs, family: bucket-test, depth: {DEPTH}, "
        "options: {levels: 2, ties: first-stage}}\n")
    (d,) = run_leaderboard(load_config(board), cache=tmp_path / "cache", progress=False,
                           log=None).datasets
    assert set(applied) == {"first-stage"}
    _, fresh = _pipeline_run(data, Stage(load_reranker("bucket-test"), DEPTH,
                                         ties="first-stage"))
    label = list(fresh.runs)[-1]
    for m in METRICS:
        assert d.system("first>>fs").per_query[m] == pytest.approx(fresh.per_query(m)[label])


def test_a_stage_owns_its_rule_and_name_and_keeps_them_through_cuts():
    base = load_reranker("identity")
    stage = Stage(base, 10, ties="first-stage", name="kept")
    assert (stage.ties, stage.name, stage.label) == ("first-stage", "kept", "kept")
    assert base.ties == "trec_eval" and base.given_name is None  # the reranker is not changed
    # what the stage applies is what its reranker records: config, spec (rerun), cache key
    assert stage.reranker.config()["ties"] == "first-stage"
    assert stage.reranker.spec().options["ties"] == "first-stage"
    cut = stage % 5
    assert (cut.depth, cut.ties, cut.name) == (5, "first-stage", "kept")
    assert (stage >> base % 3).stages[0] is stage
    # a reranker's own rule and name are the defaults a stage takes; a stage can override them
    own = load_reranker("identity", ties="first-stage", name="own")
    assert (Stage(own).ties, Stage(own).name) == ("first-stage", "own")
    assert (own % 4).ties == "first-stage"
    assert Stage(own, ties="trec_eval").ties == "trec_eval"
    assert Stage(base).label == "identity" and Stage(base).name is None
    chain = base % 20 >> own % 4
    assert isinstance(chain, Chain) and [s.ties for s in chain.stages] == ["trec_eval",
                                                                           "first-stage"]


def test_a_stage_refuses_a_bad_rule_a_bad_name_and_a_second_depth(data):
    with pytest.raises(InputError, match="tie rule 'docno' is unknown"):
        Stage(load_reranker("identity"), ties="docno")
    with pytest.raises(InputError, match="stage name"):
        Stage(load_reranker("identity"), name="a>>b")
    ds = load_dataset(str(data))
    first = ds.load_run("first")
    with pytest.raises(InputError, match="depth 3 was asked for a stage of depth 5"):
        drive(Stage(load_reranker("identity"), 5), ds.queries, first, ds.corpus, 3)


class OnlyTheContract:
    """Has exactly what the Scorer Protocol declares, nothing of Reranker: if the driver read
    anything more, driving it would fail."""

    def __init__(self) -> None:
        self.ties = "trec_eval"
        self.stats = {"calls": 0}

    @property
    def name(self) -> str:
        return "contract"

    def queries_per_call(self, depth: int) -> int:
        return 3

    def config(self) -> dict:
        return {"family": "contract"}

    def _rerank_batch(self, items: Sequence[RerankItem]) -> list[Scored]:
        self.stats = {"calls": self.stats["calls"] + 1}
        return [[(d.id, 0.0) for d in it.documents] for it in items]  # all tied


def test_the_driver_needs_only_the_declared_scorer(data):
    ds = load_dataset(str(data))
    first = ds.load_run("first")
    run = drive(Stage(OnlyTheContract(), DEPTH, ties="first-stage"), ds.queries, first,
                ds.corpus)
    # every score tied: the first-stage rule keeps the first-stage order, trec_eval reverses it
    assert _top(run) == {q: list(rl.doc_ids[:DEPTH]) for q, rl in first.items()}
    assert run.name == "first>>contract" and run.metadata["ties"] == "first-stage"
    assert run.metadata["reranker"] == {"family": "contract"}
    assert run.metadata["llm_stats"] == {"calls": 2}  # 4 queries, 3 per call
    plain = drive(OnlyTheContract(), ds.queries, first, ds.corpus, DEPTH)
    assert _top(plain) == {q: sorted(rl.doc_ids[:DEPTH], reverse=True) for q, rl in first.items()}
    for member in ("ties", "name", "stats", "queries_per_call", "config", "_rerank_batch"):
        assert member in driver.Scorer.__dict__ or member in driver.Scorer.__annotations__


@pytest.mark.parametrize("module", ["rankify_lite.cascade", "rankify_lite.rerankers.driver",
                                    "rankify_lite.rerankers.base", "rankify_lite.ties"])
def test_each_module_imports_first_in_a_fresh_process(module):
    """No cascade <-> base <-> driver circle: each imports on its own, whichever comes first."""
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
