"""The BEIR average as papers report it: CQADupStack's forums first, then the datasets."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rankify_lite.errors import InputError
from rankify_lite.leaderboard import parse_config
from rankify_lite.leaderboard.beir_average import beir_average, coverage_note, unit_of
from rankify_lite.systems import SystemId

FORUMS = ("android", "english", "gaming", "gis", "mathematica", "physics", "programmers",
          "stats", "tex", "unix", "webmasters", "wordpress")


def test_cqadupstack_forums_count_as_one_dataset():
    assert unit_of("beir/cqadupstack-tex") == "beir/cqadupstack"
    assert unit_of("beir/scifact") == "beir/scifact" and unit_of("nq") == "beir/nq"
    assert unit_of("beir/cqadupstack-nope") == "beir/cqadupstack-nope"
    scores = {"beir/scifact": 0.6, "beir/nq": 0.3}
    scores |= {f"beir/cqadupstack-{f}": (0.0 if i % 2 else 0.6) for i, f in enumerate(FORUMS)}
    # forums mean 0.3; then (0.6 + 0.3 + 0.3) / 3, not the 14-way mean of every score
    assert beir_average(scores) == pytest.approx(0.4)
    assert beir_average({"beir/scifact": 0.5}) == 0.5
    with pytest.raises(ValueError):
        beir_average({})


def test_the_note_says_what_the_average_covers():
    names = ["beir/scifact", *(f"beir/cqadupstack-{f}" for f in FORUMS)]
    note = coverage_note(names, {"beir/scifact": "SciFact"})
    assert "mean over 2 datasets: SciFact, CQADupStack (mean of its 12 forums)" in note
    assert "Not in it: bioasq, signal1m, trec-news, robust04 (not public)" in note
    part = coverage_note(["beir/cqadupstack-tex", "beir/robust04"])
    assert "CQADupStack (mean of the 1 of 12 forums)" in part and "robust04 (not" not in part


def _config(**extra):
    return parse_config({"datasets": ["beir/scifact", "beir/nq"],
                         "first_stages": [{"name": "bm25", "retriever": "bm25"}], **extra})


def test_a_config_asks_for_it_by_name():
    assert _config().average is None and _config(average="beir").average == "beir"
    with pytest.raises(InputError, match="average 'mean' is unknown.*average: beir"):
        _config(average="mean")


def test_the_summary_table_has_a_beir_average_column(monkeypatch):
    from rankify_lite.leaderboard import report

    monkeypatch.setattr(report, "_marks", lambda *a: "")

    def system(name, ndcg):
        return SimpleNamespace(system=SystemId(name), name=name, mean={"ndcg@10": ndcg})

    datasets = [SimpleNamespace(name="beir/scifact", label="SciFact",
                                systems=(system("bm25", 0.6), system("bm25>>ce", 0.7))),
                SimpleNamespace(name="beir/nq", label="NQ", systems=(system("bm25", 0.2),))]
    config = SimpleNamespace(main_metric="ndcg@10", average="beir")
    table = report.summary_markdown(SimpleNamespace(config=config, datasets=datasets))
    lines = table.splitlines()
    assert lines[0] == "| system | SciFact | NQ | BEIR avg |"
    assert lines[2].endswith("| 0.6000 | 0.2000 | 0.4000 |")
    assert lines[3].endswith("| 0.7000 | – | – |")  # no NQ score: no average
    assert "BEIR average: the unweighted mean over 2 datasets: SciFact, NQ." in table
    config.average = None
    assert "BEIR" not in report.summary_markdown(SimpleNamespace(config=config,
                                                                 datasets=datasets))
