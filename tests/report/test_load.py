"""The report's data: read from saved result and leaderboard folders through public readers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rankify_lite import read_run
from rankify_lite.errors import InputError
from rankify_lite.report import build_report, report_html
from rankify_lite.report.load import load_folder

REPO = Path(__file__).resolve().parents[2]
LEADERBOARD = REPO / "benchmarks" / "leaderboards" / "main"


def test_result_numbers_are_the_saved_results(dl19_result, dl19):
    folder, result = dl19_result
    data = load_folder(folder)
    (view,) = data["views"]
    meta = json.loads((folder / "meta.json").read_text())
    assert [s["name"] for s in view["systems"]] == list(result.metrics)
    for s in view["systems"]:
        for m, v in meta["metrics"][s["name"]].items():
            assert s["mean"][m] == pytest.approx(v, abs=1e-12)
    hashed, identity = view["systems"][1], view["systems"][2]
    assert hashed["parent"] == identity["parent"] == view["systems"][0]["name"]
    q = view["queries"][0]["id"]
    run = read_run(folder / meta["files"][hashed["name"]])
    first = read_run(folder / meta["files"][view["baseline"]])
    top = view["top"][hashed["name"]][q]
    assert [d for d, _ in top] == list(run[q].doc_ids[:10])
    assert all(before == first[q].doc_ids.index(d) for d, before in top)   # moves are real
    assert any(before != rank for rank, (_, before) in enumerate(top))
    assert all(before == rank for rank, (_, before) in enumerate(view["top"][identity["name"]][q]))
    assert view["grades"][q] == {d: g for d, g in dl19.qrels[q].items()
                                 if any(d == x for s in view["top"].values() for x, _ in s[q])}
    assert view["docs"][top[0][0]].split()[:3] == dl19.corpus[top[0][0]].full_text().split()[:3]
    assert sum(view["winloss"][hashed["name"]]) == len(view["queries"]) == 43
    assert view["winloss"][identity["name"]] == [0, 43, 0]                # identity ties all


def test_the_report_opens_on_a_query_where_the_systems_differ(dl19_result):
    (view,) = load_folder(dl19_result[0])["views"]
    main, qids = view["main"], [q["id"] for q in view["queries"]]

    def scores(q):
        return {view["per_query"][s["name"]][main].get(q, 0.0) for s in view["systems"]}

    opened = qids.index(view["first_query"])
    assert len(scores(qids[opened])) > 1
    assert all(len(scores(q)) == 1 for q in qids[:opened])


def test_first_differing_query():
    from rankify_lite.report.common import first_differing

    pq = {"a": {"m": {"q1": 0.0, "q2": 0.5, "q3": 0.2}}, "b": {"m": {"q1": 0.0, "q2": 0.5}}}
    assert first_differing(pq, ["a", "b"], "m", ["q1", "q2", "q3"]) == "q3"  # b lacks q3: 0
    assert first_differing(pq, ["a", "b"], "m", ["q1", "q2"]) == "q1"        # none differs
    assert first_differing(pq, ["a", "b"], "m", []) is None


def test_leaderboard_folder(tmp_path):
    if not (LEADERBOARD / "results.json").is_file():
        pytest.skip("no committed leaderboard folder")
    data = load_folder(LEADERBOARD)
    summary = json.loads((LEADERBOARD / "results.json").read_text())
    assert [v["label"] for v in data["views"]] == [d["label"] for d in summary["datasets"].values()]
    for view, d in zip(data["views"], summary["datasets"].values(), strict=True):
        for s in view["systems"]:
            assert s["mean"] == d["systems"][s["name"]]["mean"]
        assert not view["has_runs"] and view["per_query"][view["baseline"]][view["main"]]
    page = build_report(LEADERBOARD, tmp_path / "lb.html").read_text()
    assert "no run files" in page


def test_the_page_is_self_contained(dl19_result, tmp_path):
    folder, _ = dl19_result
    page = report_html(folder)
    for remote in ("http://", "https://", "//cdn", "<link", "src="):
        assert remote not in page.replace('xmlns="http://www.w3.org/2000/svg"', ""), remote
    assert page.count("<script") == 2
    payload = page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(payload)                  # the whole data survives (no early </script>)
    assert data["views"][0]["queries_n"] == 43 and data["views"][0]["top"]


def test_errors_name_the_file_and_the_fix(dl19_result, tmp_path):
    folder, _ = dl19_result
    with pytest.raises(InputError, match="neither meta.json"):
        load_folder(tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["dataset"] = {"source": "/nowhere/dl19", "name": "no-such-dataset-x"}
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="--dataset PATH"):
        load_folder(copy)
    assert load_folder(copy, dataset="trec-dl/dl19-passage")["views"][0]["queries_n"] == 43
    meta["files"] = {"x": "../../etc/passwd"}
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="outside the result folder"):
        load_folder(copy, dataset="trec-dl/dl19-passage")


def test_cli_writes_the_report(dl19_result, tmp_path, capsys):
    from rankify_lite.cli.main import main

    folder, _ = dl19_result
    out = tmp_path / "r" / "report.html"
    assert main(["report", str(folder), "-o", str(out)]) == 0
    assert out.is_file() and "report:" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing"), "-o", str(out)]) == 2


def test_a_cascade_moves_against_the_stage_before_it(dl19, shared_data, tmp_path):
    """A hand-written result folder (meta.json's documented keys only) with a cascade
    bm25 >> x >> y: y's moves are counted against x, x's against bm25."""
    from rankify_lite import write_run
    from rankify_lite.types import Run

    bm25 = dl19.load_run("bm25.top100")
    x = Run.from_rankings({q: list(reversed(rl.doc_ids[:20])) + list(rl.doc_ids[20:])
                           for q, rl in bm25.items()})
    y = Run.from_rankings({q: [rl.doc_ids[1], rl.doc_ids[0], *rl.doc_ids[2:]]
                           for q, rl in x.items()})
    names = ["bm25", "bm25>>x", "bm25>>x>>y"]
    files = {}
    for name, run in zip(names, (bm25, x, y), strict=True):
        files[name] = name.replace(">>", "__") + ".trec"
        write_run(run, tmp_path / files[name])
    meta = {"files": files, "dataset": {"source": str(shared_data / "trec-dl" / "dl19-passage"),
                                        "rel_level": 2, "content_hash": dl19.content_hash()},
            "significance": {"systems": names, "metrics": ["ndcg@10"], "baseline": "bm25"},
            "something_new": {"ignored": True}}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    (view,) = load_folder(tmp_path)["views"]
    assert [s["parent"] for s in view["systems"]] == [None, "bm25", "bm25>>x"]
    q = view["queries"][0]["id"]
    assert [b for _, b in view["top"]["bm25>>x>>y"][q]] == [1, 0, 2, 3, 4, 5, 6, 7, 8, 9]
    assert [b for _, b in view["top"]["bm25>>x"][q]] == list(range(19, 9, -1))
    assert view["systems"][0]["seconds"] is None and view["metrics"] == ["ndcg@10"]
