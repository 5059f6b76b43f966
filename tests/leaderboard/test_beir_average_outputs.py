"""The BEIR average reaches every output a leaderboard writes: results.json, the LaTeX table and
the HTML report (which computes it again from the datasets' means, never trusting the file)."""

from __future__ import annotations

import json

import pytest

from rankify_lite.errors import InputError
from rankify_lite.leaderboard import load_config, run_leaderboard
from rankify_lite.leaderboard.report import write_reports

CONFIG = """
name: avg
title: Two shipped sets with a BEIR-style average
metrics: [ndcg@10]
average: beir
datasets: [{name: trec-dl/dl19-passage, label: DL19}, {name: trec-dl/dl20-passage, label: DL20}]
first_stages:
  - {name: bm25, run: bm25.top100}
  - {name: splade++, run: splade-pp-ed.top100}
rerankers:
  - {name: same10, family: identity, depth: 10, first_stages: [bm25],
     datasets: [trec-dl/dl19-passage]}
baseline: bm25
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("avg")
    (root / "avg.yaml").write_text(CONFIG)
    result = run_leaderboard(load_config(root / "avg.yaml"), cache=root / "cache",
                             progress=False, log=None)
    out = root / "out"
    write_reports(result, out, plots=False)
    return out


def _means(summary, system):
    return [summary["datasets"][d]["systems"][system]["mean"]["ndcg@10"]
            for d in ("trec-dl/dl19-passage", "trec-dl/dl20-passage")]


def test_results_json_records_each_systems_average(folder):
    summary = json.loads((folder / "results.json").read_text())
    avg = summary["average"]
    assert avg["kind"] == "beir" and avg["metric"] == "ndcg@10"
    assert "unweighted mean over 2 datasets: DL19, DL20" in avg["note"]
    for system in ("bm25", "splade++"):
        assert avg["systems"][system] == pytest.approx(sum(_means(summary, system)) / 2)
    # published: BM25 0.5058 / 0.4796, SPLADE++ ED 0.7308 / 0.7197
    assert avg["systems"]["bm25"] == pytest.approx((0.5058 + 0.4796) / 2, abs=1e-4)
    assert avg["systems"]["bm25>>same10"] is None  # DL19 only: no average


def test_the_latex_table_has_the_average_column(folder):
    tex = (folder / "table.tex").read_text()
    head = tex.split("\\end{tabular}")[0]
    assert "system & DL19 & DL20 & BEIR avg" in head
    summary = json.loads((folder / "results.json").read_text())
    bm25 = summary["average"]["systems"]["bm25"]
    assert f"bm25 & {_means(summary, 'bm25')[0]:.4f} & " in head and f"{bm25:.4f} \\\\" in head
    assert "-- & --" in head  # bm25>>same10: no DL20 score, no average


def test_the_html_report_shows_the_average_computed_from_the_means(folder, tmp_path):
    import shutil

    from rankify_lite.report.html import render_html
    from rankify_lite.report.load import load_folder

    page = render_html(load_folder(folder))
    assert 'id="table-average"' in page and "BEIR avg" in page
    summary = json.loads((folder / "results.json").read_text())
    assert f'data-average="{summary["average"]["systems"]["splade++"]:.4f}"' in page
    # a shared folder claiming another average: the page shows the one its data give
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    forged = json.loads((copy / "results.json").read_text())
    forged["average"]["systems"]["bm25"] = 0.99
    (copy / "results.json").write_text(json.dumps(forged))
    assert 'data-average="0.9900"' not in render_html(load_folder(copy))
    forged["average"]["kind"] = "<b>mean</b>"
    (copy / "results.json").write_text(json.dumps(forged))
    with pytest.raises(InputError, match="average.kind"):
        load_folder(copy)


def test_no_average_without_the_config_key(tmp_path):
    (tmp_path / "plain.yaml").write_text(CONFIG.replace("average: beir\n", ""))
    result = run_leaderboard(load_config(tmp_path / "plain.yaml"), cache=tmp_path / "cache",
                             progress=False, log=None)
    write_reports(result, tmp_path / "out", plots=False)
    assert "average" not in json.loads((tmp_path / "out" / "results.json").read_text())
    assert "BEIR avg" not in (tmp_path / "out" / "table.tex").read_text()
