"""2CR-style expected scores: ``--check`` passes on the shipped file and fails on drift."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rankify_lite.cli.main import main as cli
from rankify_lite.errors import InputError
from rankify_lite.leaderboard import check_expected, load_expected
from rankify_lite.leaderboard.expected import failure_report
from rankify_lite.systems import SystemId

EXPECTED = Path(__file__).resolve().parents[2] / "benchmarks" / "expected" / "main.yaml"


def _shipped_ci_ids() -> list[str]:
    return [e.id for e in load_expected(EXPECTED)
            if e.ci and e.first_stage.run is not None and e.reranker is None]


def test_expected_file_is_valid_and_commands_reproduce():
    entries = load_expected(EXPECTED)
    ids = {e.id for e in entries}
    assert {"scifact-bm25-flat", "scifact-bm25-multifield", "dl19-bm25", "dl19-splade-pp-ed",
            "dl20-bm25", "dl20-splade-pp-ed"} <= ids
    flat = next(e for e in entries if e.id == "scifact-bm25-flat")
    assert flat.scores == {"ndcg@10": 0.6789, "recall@100": 0.9253, "recall@1000": 0.9767}
    assert flat.command() == ("rankify-lite run --dataset beir/scifact --retriever bm25 -k 1000 "
                              "-m ndcg@10 -m recall@100 -m recall@1000")
    # every LLM entry is too expensive for CI
    assert all(not e.ci for e in entries if e.reranker and e.reranker.family in
               ("first", "listwise", "pointwise"))


def test_check_passes_on_the_cheap_entries(shared_data, capsys):
    ids = _shipped_ci_ids()
    assert len(ids) >= 12
    argv = ["leaderboard", "--check", str(EXPECTED), "--ci-only"]
    for i in ids:
        argv += ["--only", i]
    assert cli(argv) == 0
    out = capsys.readouterr().out
    assert f"all {len(ids)} entries match" in out


def test_check_fails_loudly_when_a_number_is_perturbed(shared_data, tmp_path, capsys):
    data = yaml.safe_load(EXPECTED.read_text())
    for e in data["entries"]:
        if e["id"] == "dl19-bm25":
            e["scores"]["ndcg@10"] = round(e["scores"]["ndcg@10"] + 0.002, 4)  # 0.5078
    perturbed = tmp_path / "perturbed.yaml"
    perturbed.write_text(yaml.safe_dump(data))
    code = cli(["leaderboard", "--check", str(perturbed), "--only", "dl19-bm25",
                "--only", "dl20-bm25"])
    assert code == 1
    err = capsys.readouterr().err
    assert "EXPECTED-SCORE CHECK FAILED: 1 of 2 entries drifted" in err
    assert "dl19-bm25" in err and "dl20-bm25:" not in err
    assert "ndcg@10: got 0.5058, expected 0.5078 (off by -0.0020, tolerance 0.0001)" in err
    assert "reproduce: rankify-lite run --dataset trec-dl/dl19-passage --retriever " \
           "run:bm25.top100" in err


def test_a_broken_entry_is_a_failure_not_a_crash(shared_data, tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump({"entries": [
        {"id": "gone", "dataset": "trec-dl/dl19-passage", "first_stage": {"run": "nope.top100"},
         "scores": {"ndcg@10": 0.5}}]}))
    (result,) = check_expected(load_expected(path), log=None)
    assert not result.ok and result.error
    assert "gone" in failure_report([result])


@pytest.mark.parametrize("entries, needle", [
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}}], "has no 'scores'"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": "x"}}],
     "entries[0].scores.ndcg@10 'x' is not a number"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": float("nan")}}],
     "entries[0].scores.ndcg@10 'nan' is not finite"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": 1},
       "tolerance": float("inf")}], "entries[0].tolerance 'inf' is not finite"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": 1},
       "tolerance": float("nan")}], "entries[0].tolerance 'nan' is not finite"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": 1},
       "tolerance": -0.1}], "entries[0].tolerance '-0.1' is out of range"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": 1},
       "tolerance": True}], "entries[0].tolerance must be a number"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": 1.5}}],
     "entries[0].scores.ndcg@10 '1.5' is out of range"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": [0.5]}}],
     "entries[0].scores.ndcg@10 must be a number"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {}}],
     "entries[0].scores must map metrics"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": 1},
       "k": float("nan")}], "entries[0].k 'nan' is not finite"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": 1},
       "k": 10**20}], "entries[0].k '100000000000000000000' is out of range"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": 1},
       "ci": "no"}], "entries[0].ci must be true or false"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": 1},
       "tolerence": 0.1}], "'tolerence' (did you mean 'tolerance'?)"),
    ([{"id": "a", "dataset": "d", "first_stage": {"run": "r"}, "scores": {"ndcg@10": 1}}] * 2,
     "used twice"),
])
def test_bad_expected_files(tmp_path, entries, needle):
    """Every number field by the one rule: a NaN expected score or tolerance would make the
    check pass vacuously (|got - nan| > tol is False)."""
    import copy

    path = tmp_path / "e.yaml"  # copies: a shared object would be dumped as a (refused) alias
    path.write_text(yaml.safe_dump({"entries": [copy.deepcopy(e) for e in entries]}))
    with pytest.raises(InputError) as err:
        load_expected(path)
    assert needle in str(err.value) and str(path) in str(err.value)


@pytest.mark.slow
def test_check_passes_on_every_ci_entry(shared_data):
    """Everything marked ci: true, including our Lucene BM25 and the MiniLM rerank."""
    results = check_expected(load_expected(EXPECTED), ci_only=True, log=None)
    assert results and not failure_report(results), failure_report(results)


@pytest.mark.parametrize("text, needle", [
    ("tolerance: .nan", "entries[0].tolerance 'nan' is not finite"),
    ("tolerance: .inf", "entries[0].tolerance 'inf' is not finite"),
    ("tolerance: abc", "entries[0].tolerance 'abc' is not a number"),
    ("tolerance: 1e-3", None),                          # PyYAML reads 1e-3 as text: a number
    ("scores: {ndcg@10: .nan}", "entries[0].scores.ndcg@10 'nan' is not finite"),
    ("scores: {ndcg@10: .NaN}", "entries[0].scores.ndcg@10 'nan' is not finite"),
    ("scores: {ndcg@10: 1_0}", "entries[0].scores.ndcg@10"),
])
def test_yaml_spellings_of_non_numbers(tmp_path, capsys, text, needle):
    """Through the command: refused before anything runs, in one line naming file and field."""
    from rankify_lite.cli.main import main

    body = {"id": "a", "dataset": "dl19", "first_stage": "{run: bm25.top100}",
            "scores": "{ndcg@10: 0.5}", "tolerance": "0.001"}
    key = text.split(":")[0]
    body[key] = text.split(": ", 1)[1]
    path = tmp_path / "e.yaml"
    path.write_text("entries:\n  - " + "\n    ".join(f"{k}: {v}" for k, v in body.items())
                    + "\n")
    if needle is None:
        assert load_expected(path)[0].tolerance == 1e-3
        return
    assert main(["leaderboard", "--check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert f"{path}: {needle}" in err and "Fix:" in err


def test_written_expected_scores_read_back_without_aliases(tmp_path):
    """One reranker entry on two datasets shared its options mapping between the two expected
    entries: yaml.safe_dump wrote an alias (*id001) and load_expected refused the file."""
    from types import SimpleNamespace

    from rankify_lite.leaderboard import parse_config
    from rankify_lite.leaderboard.expected import entries_from_leaderboard

    config = parse_config({
        "name": "t", "metrics": ["ndcg@10"],
        "datasets": ["trec-dl/dl19-passage", "trec-dl/dl20-passage"],
        "first_stages": [{"name": "bm25", "run": "bm25.top100"}],
        "rerankers": [{"name": "same", "family": "identity", "depth": 20,
                       "options": {"ties": "first-stage"}}]})
    datasets = [SimpleNamespace(name=d.name, label=d.label, systems=[SimpleNamespace(
        first_stage="bm25", reranker="same", depth=20, system=SystemId("bm25", "same", 20),
        mean={"ndcg@10": 0.5})]) for d in config.datasets]
    doc = entries_from_leaderboard(SimpleNamespace(config=config, datasets=datasets))
    path = tmp_path / "expected.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert "*id" not in path.read_text()
    entries = load_expected(path)
    assert [e.reranker.options for e in entries] == [{"ties": "first-stage"}] * 2


def test_names_sharing_a_slug_get_distinct_ids_that_read_back(tmp_path):
    """Legal names that share one slug (ce+ / cep, CE / ce, x y / x-y) got one id, and the
    written expected.yaml was refused by its own loader (review 9): colliding ids get a hash of
    the exact name; an id that collides with nothing is unchanged."""
    from types import SimpleNamespace

    from rankify_lite.leaderboard import parse_config
    from rankify_lite.leaderboard.expected import entries_from_leaderboard

    names = ["ce+", "cep", "CE", "ce", "x y", "x-y"]
    config = parse_config({
        "name": "t", "metrics": ["ndcg@10"], "datasets": ["trec-dl/dl19-passage"],
        "first_stages": [{"name": "bm25", "run": "bm25.top100"}],
        "rerankers": [{"name": n, "family": "identity", "depth": 20} for n in names]})
    (d,) = config.datasets
    systems = [SimpleNamespace(first_stage="bm25", reranker=None, depth=None,
                               system=SystemId("bm25"), mean={"ndcg@10": 0.5})]
    systems += [SimpleNamespace(first_stage="bm25", reranker=n, depth=20,
                                system=SystemId("bm25", n, 20), mean={"ndcg@10": 0.5})
                for n in names]
    doc = entries_from_leaderboard(SimpleNamespace(config=config, datasets=[SimpleNamespace(
        name=d.name, label=d.label, systems=systems)]))
    ids = [e["id"] for e in doc["entries"]]
    assert len(set(ids)) == len(ids) == 7
    assert ids[0] == f"t-{d.label.lower()}-bm25"                    # no collision: as before
    assert all("~" in i for i in ids[1:])
    path = tmp_path / "expected.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert [e.id for e in load_expected(path)] == ids


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted((REPO / "benchmarks").rglob("expected*.yaml"))
                         + sorted((REPO / "benchmarks" / "expected").glob("*.yaml")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_every_committed_expected_file_loads(path):
    """The expected scores the project ships pass its own loader (no alias, finite scores)."""
    entries = load_expected(path)
    assert entries and all(e.scores for e in entries)
