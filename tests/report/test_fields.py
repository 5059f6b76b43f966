"""The report's loader checks every field it reads (issue #38 item 1): a wrong type, a
non-finite number, an unknown name or an alpha outside (0, 1) is one line naming the file and
the field, before anything is computed; through the CLI it is one line, no traceback."""

from __future__ import annotations

import json
import math

import pytest
from helpers.report_folders import write_dataset, write_leaderboard, write_result

from rankify_lite.cli.main import main
from rankify_lite.errors import InputError
from rankify_lite.report import report_html
from rankify_lite.report.load import load_folder

HOSTILE = "<img src=x onerror=\"document.title='X'\">"
SYSTEMS = ["bm25", "bm25>>ce", "other"]


@pytest.fixture
def result(tmp_path):
    docs = {f"d{i}": f"text {i}" for i in range(5)}
    data = write_dataset(tmp_path / "data", {"q1": "one", "q2": "two"}, docs,
                         {"q1": {"d0": 1, "d2": 2}, "q2": {"d1": 1}})
    ranking = list(docs)
    runs = {SYSTEMS[0]: {"q1": ranking, "q2": ranking},
            SYSTEMS[1]: {"q1": ranking[::-1], "q2": ranking[::-1]},
            SYSTEMS[2]: {"q1": ranking[1:], "q2": ranking[2:]}}
    return write_result(tmp_path / "result", data, runs,
                        metrics={s: {"ndcg@10": 0.5} for s in SYSTEMS},
                        pipeline={"seed": 0}, notes=["a note"])


def _edit(path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _set(*keys_value):
    *keys, value = keys_value

    def change(data):
        for k in keys[:-1]:
            data = data.setdefault(k, {})
        data[keys[-1]] = value
    return change


def _refused(folder, field: str) -> str:
    with pytest.raises(InputError) as exc:
        load_folder(folder)
    message = str(exc.value)
    assert len(message.splitlines()) == 1 and field in message and "Fix:" in message, message
    return message


META_CASES = [
    (_set("significance", "alpha", HOSTILE), "significance.alpha"),
    (_set("significance", "alpha", math.nan), "significance.alpha"),
    (_set("significance", "alpha", math.inf), "significance.alpha"),
    (_set("significance", "alpha", 2), "significance.alpha"),
    (_set("significance", "alpha", 0), "significance.alpha"),
    (_set("significance", "alpha", -0.5), "significance.alpha"),
    (_set("significance", "alpha", True), "significance.alpha"),
    (_set("significance", "alpha", [0.05]), "significance.alpha"),
    (_set("significance", "test", HOSTILE), "significance.test"),
    (_set("significance", "test", 5), "significance.test"),
    (_set("significance", "correction", "holm; rm -rf"), "significance.correction"),
    (_set("significance", "metrics", ["ndcg@10", "bogus@3"]), "significance.metrics[1]"),
    (_set("significance", "metrics", "ndcg@10"), "significance.metrics"),
    (_set("significance", "metrics", []), "significance.metrics"),
    (_set("significance", "metrics", [7]), "significance.metrics[0]"),
    (_set("significance", "systems", ["bm25", "not-a-system"]), "significance.systems[1]"),
    (_set("significance", "systems", "bm25"), "significance.systems"),
    (_set("significance", "baseline", "not-a-system"), "significance.baseline"),
    (_set("significance", "baseline", HOSTILE), "significance.baseline"),
    (_set("significance", 5), "significance"),
    (_set("metrics", "not-a-system", {"ndcg@10": 0.5}), "metrics (a system name)"),
    (_set("metrics", "bm25", {"ndcg@10": "0.5x"}), "metrics['bm25']['ndcg@10']"),
    (_set("metrics", "bm25", {"ndcg@10": math.nan}), "metrics['bm25']['ndcg@10']"),
    (_set("metrics", "bm25", {"nope": 0.5}), "metrics['bm25'] key"),
    (_set("pipeline", "seed", 1.5), "pipeline.seed"),
    (_set("pipeline", "seed", "x"), "pipeline.seed"),
    (_set("pipeline", "seed", -1), "pipeline.seed"),          # compare()'s rule: [0, 2^32 - 1]
    (_set("pipeline", "seed", 2**32), "pipeline.seed"),
    (_set("significance", "metrics", ["ndcg@99999999999999999999"]), "significance.metrics[0]"),
    (_set("dataset", "rel_level", -1), "dataset.rel_level"),
    (_set("dataset", "rel_level", "2x"), "dataset.rel_level"),
    (_set("dataset", "source", 5), "dataset.source"),
    (_set("dataset", "content_hash", ["x"]), "dataset.content_hash"),
    (_set("stages", "x"), "stages"),
    (_set("stages", [{"system": 5}]), "stages[0].system"),
    (_set("stages", [{"system": "bm25", "mean_s": -1}]), "stages[0].mean_s"),
    (_set("stages", [{"system": "bm25", "mean_s": math.inf}]), "stages[0].mean_s"),
    (_set("stages", [{"system": "bm25", "mean_s": 1e308}]), "stages[0].mean_s"),  # plot: inf
    (_set("stages", [{"system": "bm25", "precomputed": "yes"}]), "stages[0].precomputed"),
    (_set("notes", "one string"), "notes"),
    (_set("notes", [1]), "notes[0]"),
    (_set("files", ["run0.trec"]), "files"),
    (_set("file_sha256", {"bm25": 5}), "file_sha256"),
]


@pytest.mark.parametrize(("change", "field"), META_CASES,
                         ids=[f"{f}-{i}" for i, (_, f) in enumerate(META_CASES)])
def test_each_bad_meta_field_is_one_line_naming_it(result, change, field):
    _edit(result, change)
    message = _refused(result.parent, field)
    assert message.startswith(str(result)), message       # the file: meta.json


def test_a_valid_folder_loads_and_its_settings_are_used(result):
    _edit(result, _set("significance", "alpha", 0.2))
    _edit(result, _set("significance", "correction", "none"))
    (view,) = load_folder(result.parent)["views"]
    assert view["alpha"] == 0.2 and view["correction"] == "none"
    assert [s["name"] for s in view["systems"]] == SYSTEMS and view["notes"][0] == "a note"
    assert "alpha=0.2;" in report_html(result.parent)


def test_a_32_bit_seed_the_pipeline_can_record_loads(result):
    _edit(result, _set("pipeline", "seed", 2**32 - 1))
    assert load_folder(result.parent)["views"][0]["systems"]


def test_the_hostile_alpha_with_two_systems_is_one_line_in_the_cli(result, tmp_path, capsys):
    _edit(result, _set("significance", "alpha", HOSTILE))
    out = tmp_path / "r.html"
    assert main(["report", str(result.parent), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "significance.alpha" in err and "a number in (0, 1)" in err and "meta.json" in err
    assert not out.exists()                                # nothing written


@pytest.fixture
def leaderboard(tmp_path):
    return write_leaderboard(tmp_path / "lb", "main", "DL19", ["bm25", "bm25>>ce"],
                             ["q1", "q2", "q3"])


def _lb(*keys_value):
    return _set("datasets", "d", *keys_value)


LB_CASES = [
    (_lb("significance", "alpha", HOSTILE), "datasets['d'].significance.alpha"),
    (_lb("significance", "alpha", math.nan), "datasets['d'].significance.alpha"),
    (_lb("significance", "alpha", 1.5), "datasets['d'].significance.alpha"),
    (_lb("significance", "test", "<b>"), "datasets['d'].significance.test"),
    (_lb("significance", "p_vs_baseline", "ndcg@10", "bm25>>ce", 2),
     "datasets['d'].significance.p_vs_baseline['ndcg@10']['bm25>>ce']"),
    (_lb("significance", "p_vs_baseline", "ndcg@10", "ghost", 0.5),
     "datasets['d'].significance.p_vs_baseline['ndcg@10'] key"),
    (_lb("significance", "better_than", "ndcg@10", "bm25>>ce", ["ghost"]),
     "datasets['d'].significance.better_than['ndcg@10']"),
    (_lb("systems", "bm25", "mean", {"ndcg@10": "NaN"}), "datasets['d'].systems['bm25'].mean"),
    (_lb("systems", "bm25", "mean", {"ndcg@10": math.inf}),
     "datasets['d'].systems['bm25'].mean"),
    (_lb("systems", "bm25", "mean", {"bogus": 0.5}), "datasets['d'].systems['bm25'].mean key"),
    (_lb("systems", "bm25", "seconds_per_query", -1),
     "datasets['d'].systems['bm25'].seconds_per_query"),
    (_lb("systems", "bm25", "seconds_per_query", 1e308),        # finite, but the plot's 3x: inf
     "datasets['d'].systems['bm25'].seconds_per_query"),
    (_lb("systems", "bm25", "precomputed", "no"), "datasets['d'].systems['bm25'].precomputed"),
    (_lb("baseline", "ghost"), "datasets['d'].baseline"),
    (_lb("queries", -3), "datasets['d'].queries"),
    (_lb("label", 5), "datasets['d'].label"),
    (_set("metrics", ["ndcg@10", "bogus"]), "metrics[1]"),
    (_set("name", {"x": 1}), "name"),
    (_set("datasets", []), "datasets"),
]


@pytest.mark.parametrize(("change", "field"), LB_CASES,
                         ids=[f"{f}-{i}" for i, (_, f) in enumerate(LB_CASES)])
def test_each_bad_results_field_is_one_line_naming_it(leaderboard, change, field):
    _edit(leaderboard / "results.json", change)
    message = _refused(leaderboard, field)
    assert message.startswith(str(leaderboard / "results.json")), message


@pytest.mark.parametrize(("row", "needle"), [
    ('d,bm25,bm25,,q1,nan,0.01', "not finite"),
    ('d,bm25,bm25,,q1,1_0,0.01', "'1_0'"),
    ('d,bm25,bm25,,q1,<img>,0.01', "'<img>'"),
    ('d,ghost,ghost,,q1,0.5,0.01', "system 'ghost'"),
    ('other,bm25,bm25,,q1,0.5,0.01', "dataset 'other'"),
    ('d,bm25,bm25', "query_id"),                        # a short row: no query id (review 4c)
    ('d,bm25,bm25,,,0.5,0.01', "query_id"),
    (',bm25,bm25,,q1,0.5,0.01', "dataset"),
])
def test_bad_per_query_rows_are_refused_with_their_line(leaderboard, row, needle):
    path = leaderboard / "per_query.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, row]) + "\n")
    message = _refused(leaderboard, needle)
    assert message.startswith(f"{path}:{len(lines) + 1}:"), message


def test_per_query_bytes_that_are_not_utf8_are_one_line(leaderboard, tmp_path, capsys):
    path = leaderboard / "per_query.csv"
    lines = path.read_text().splitlines()
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"d,bm25,bm25,,q\xff,0.5,0.01\n")
    message = _refused(leaderboard, "not UTF-8")
    assert message.startswith(f"{path}:{len(lines) + 1}:"), message
    assert main(["report", str(leaderboard), "-o", str(tmp_path / "r.html")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_huge_time_is_one_line_in_the_cli_not_a_plot_overflow(leaderboard, tmp_path,
                                                                  capsys):
    _edit(leaderboard / "results.json", _lb("systems", "bm25", "seconds_per_query", 1e308))
    assert main(["report", str(leaderboard), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seconds_per_query" in err


@pytest.mark.parametrize("name", ["x" * 2000, "bm25>>", "bm25>>a\u0007b", ">>ce", "bm25>> "],
                         ids=["long", "empty-stage", "control", "empty-first", "blank-stage"])
def test_system_names_are_checked_as_declared_names(result, leaderboard, name):
    """A system name read from a folder follows the declared-name rule (names.check_name per
    stage): an 80 000-character name would hang the plots (review 5)."""
    def rename(data):
        data["files"][name] = data["files"].pop("other")
    _edit(result, rename)
    assert _refused(result.parent, "files key").startswith(str(result))

    def rename_lb(data):
        systems = data["datasets"]["d"]["systems"]
        systems[name] = systems.pop("bm25>>ce")
    _edit(leaderboard / "results.json", rename_lb)
    _refused(leaderboard, "datasets['d'].systems key")


def test_a_per_query_column_must_be_a_metric(leaderboard):
    path = leaderboard / "per_query.csv"
    text = path.read_text()
    path.write_text(text.replace("ndcg@10", "<b>onclick", 1))
    _refused(leaderboard, "column '<b>onclick'")
