"""Where a report may be written (issue #38 item 3): never over a file of the folder it reads
(inside it only an .html file), and over an existing file only when it is a report we wrote,
unless --overwrite. Refused before anything is read, and the folder is left as it was."""

from __future__ import annotations

import pytest
from helpers.report_folders import write_dataset, write_leaderboard, write_result

from rankify_lite.cli.main import main
from rankify_lite.report import build_report
from rankify_lite.report.load import load_folder
from rankify_lite.report.output import is_our_report


@pytest.fixture
def result(tmp_path):
    data = write_dataset(tmp_path / "data", {"q1": "one", "q2": "two"},
                         {"d0": "a", "d1": "b", "d2": "c"}, {"q1": {"d0": 1}, "q2": {"d2": 2}})
    ranking = {"q1": ["d0", "d1", "d2"], "q2": ["d2", "d1", "d0"]}
    meta = write_result(tmp_path / "result", data, {"bm25": ranking, "bm25>>x": ranking})
    return meta.parent


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _refused(capsys, argv, needle: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err and needle in err, err
    return err


@pytest.mark.parametrize("name", ["meta.json", "run0.trec", "run1.trec", "notes.txt",
                                  "sub/../meta.json", "./meta.json"])
def test_no_file_of_the_result_is_written_over(result, capsys, name):
    before = _snapshot(result)
    _refused(capsys, ["report", str(result), "-o", str(result / name)],
             "over a file of the folder it reads")
    _refused(capsys, ["report", str(result), "-o", str(result / name), "--overwrite"],
             "over a file of the folder it reads")
    assert _snapshot(result) == before
    assert load_folder(result)["views"][0]["queries_n"] == 2     # still a readable result


def test_a_link_to_a_file_of_the_result_is_refused(result, tmp_path, capsys):
    link = tmp_path / "looks-harmless.html"
    link.symlink_to(result / "meta.json")
    before = _snapshot(result)
    _refused(capsys, ["report", str(result), "-o", str(link)], "over a file of the folder")
    assert _snapshot(result) == before


def test_a_leaderboard_folder_keeps_its_files(tmp_path, capsys):
    lb = write_leaderboard(tmp_path / "lb", "main", "DL19", ["bm25", "bm25>>x"], ["q1", "q2"])
    before = _snapshot(lb)
    for name in ("results.json", "per_query.csv", "table.md"):
        _refused(capsys, ["report", str(lb), "-o", str(lb / name)], "over a file")
    assert _snapshot(lb) == before
    assert main(["report", str(lb), "-o", str(lb / "report.html")]) == 0


def test_a_new_html_report_inside_the_folder_is_fine_and_can_be_rewritten(result, capsys):
    out = result / "report.html"
    assert main(["report", str(result), "-o", str(out)]) == 0
    assert is_our_report(out)
    first = out.read_text()
    assert main(["report", str(result), "-o", str(out)]) == 0    # our own report: replaced
    assert out.read_text() == first
    capsys.readouterr()


def test_a_file_we_did_not_write_needs_overwrite(result, tmp_path, capsys):
    theirs = tmp_path / "page.html"
    theirs.write_text("<html>someone's page</html>")
    _refused(capsys, ["report", str(result), "-o", str(theirs)], "--overwrite")
    assert theirs.read_text() == "<html>someone's page</html>"
    assert main(["report", str(result), "-o", str(theirs), "--overwrite"]) == 0
    assert is_our_report(theirs)
    capsys.readouterr()


def test_the_api_has_the_same_rule(result, tmp_path):
    from rankify_lite.errors import InputError

    with pytest.raises(InputError, match="over a file of the folder"):
        build_report(result, result / "meta.json", overwrite=True)
    (tmp_path / "x.txt").write_text("keep")
    with pytest.raises(InputError, match="overwrite"):
        build_report(result, tmp_path / "x.txt")
    assert (tmp_path / "x.txt").read_text() == "keep"
    with pytest.raises(InputError, match="is a folder"):
        build_report(result, tmp_path)


def test_help_documents_the_rule(capsys):
    assert main(["report", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Never a file of FOLDER" in text and "--overwrite" in text and "--allow-changed" in text
