"""A report of a result whose run file was edited after saving (issue #38 item 4): refused in
one line (the file, the recorded and the actual sha256 prefix, the fix); with --allow-changed
the page and its table mark each changed file, and its scores are the edited file's."""

from __future__ import annotations

import json

import pytest
from helpers.report_folders import write_dataset, write_result

from rankify_lite.cli.main import main
from rankify_lite.pipeline.saved import file_sha256
from rankify_lite.report import report_html
from rankify_lite.report.load import load_folder

RANKING = {"q1": ["d0", "d1", "d2"], "q2": ["d2", "d1", "d0"]}


@pytest.fixture
def result(tmp_path):
    data = write_dataset(tmp_path / "data", {"q1": "one", "q2": "two"},
                         {"d0": "a", "d1": "b", "d2": "c"}, {"q1": {"d0": 1}, "q2": {"d2": 2}})
    runs = {"bm25": RANKING, "bm25>>x": RANKING, "other": RANKING}
    return write_result(tmp_path / "result", data, runs).parent


def _edit_run(result, system: str) -> tuple[str, str]:
    """Swap the first two documents of q1 in ``system``'s file (scores still follow rank);
    (recorded, actual) sha256."""
    meta = json.loads((result / "meta.json").read_text())
    path = result / meta["files"][system]
    lines = path.read_text().splitlines()
    a, b = lines[0].split(), lines[1].split()
    a[2], b[2] = b[2], a[2]
    path.write_text("\n".join([" ".join(a), " ".join(b), *lines[2:]]) + "\n")
    return meta["file_sha256"][system], file_sha256(path)


@pytest.mark.parametrize("system", ["bm25", "bm25>>x", "other"])
def test_an_edited_run_file_is_refused_in_one_line(result, tmp_path, capsys, system):
    recorded, actual = _edit_run(result, system)
    out = tmp_path / "r.html"
    assert main(["report", str(result), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    fname = json.loads((result / "meta.json").read_text())["files"][system]
    assert fname in err and repr(system) in err and "changed after it was saved" in err
    assert f"sha256 {recorded[:12]} recorded, {actual[:12]} now" in err
    assert "--allow-changed" in err and not out.exists()


def test_with_the_flag_each_changed_file_is_marked(result, tmp_path, capsys):
    _edit_run(result, "bm25>>x")
    _edit_run(result, "other")
    data = load_folder(result, allow_changed=True)
    assert data["changed"] == ["bm25>>x", "other"]
    marks = {s["name"]: s["changed"] for s in data["views"][0]["systems"]}
    assert marks["bm25"] is None and "run1.trec" in marks["bm25>>x"] and marks["other"]
    notes = data["views"][0]["notes"]
    assert sum("CHANGED" in n for n in notes) == 2
    ndcg = {s["name"]: s["mean"]["ndcg@10"] for s in data["views"][0]["systems"]}
    assert ndcg["bm25>>x"] < ndcg["bm25"]                # the edited file's scores, shown
    out = tmp_path / "r.html"
    assert main(["report", str(result), "-o", str(out), "--allow-changed"]) == 0
    capsys.readouterr()
    page = out.read_text()
    assert page.count('class="changed"') == 2 and page.count("changed run file</span>") == 2
    assert 'id="changed"' in page and "bm25&gt;&gt;x, other" in page


def test_an_unchanged_result_has_no_marks(result):
    page = report_html(result)
    assert 'class="changed"' not in page and 'id="changed"' not in page
    assert load_folder(result)["changed"] == []


def test_a_removed_record_counts_as_changed(result):
    meta = json.loads((result / "meta.json").read_text())
    del meta["file_sha256"]["other"]
    (result / "meta.json").write_text(json.dumps(meta))
    from rankify_lite.errors import InputError

    with pytest.raises(InputError, match="sha256 none recorded"):
        load_folder(result)


def test_a_result_without_any_hash_says_it_could_not_be_checked(result):
    meta = json.loads((result / "meta.json").read_text())
    del meta["file_sha256"]
    (result / "meta.json").write_text(json.dumps(meta))
    notes = load_folder(result)["views"][0]["notes"]
    assert any("could not be checked" in n for n in notes)


def test_the_marks_show_in_chromium(browser, result, tmp_path):
    from helpers.browser import open_page

    from rankify_lite.report import build_report

    _edit_run(result, "other")
    html = build_report(result, tmp_path / "r.html", allow_changed=True)
    page, problems, _ = open_page(browser, html)
    assert problems == []
    assert page.locator("#changed").is_visible() and "other" in page.inner_text("#changed")
    assert page.locator('#table-0 tr.changed[data-system="other"] .chg').is_visible()
    card = page.locator('#qview-0 .list[data-system="other"] h4').inner_text()
    assert "CHANGED run file" in card
    assert "CHANGED run file" not in page.locator('#qview-0 .list[data-system="bm25"] h4'
                                                  ).inner_text()
