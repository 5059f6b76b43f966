"""``run`` / ``rerun --output``: a new, empty or saved-result folder, checked before computing."""

from __future__ import annotations

import pytest
from helpers.tiny_folder import tiny_folder

from rankify_lite.cli.main import main
from rankify_lite.pipeline import Pipeline


def _run(folder, out, *extra):
    return main(["run", "--dataset", str(folder), "--retriever", "run:first", "--reranker",
                 "identity", "--depth", "3", "--no-cache", "--output", str(out), *extra])


@pytest.fixture
def no_compute(monkeypatch):
    """Any pipeline run fails the test: a refusal must come before computing."""
    def boom(self, dataset):
        raise AssertionError("computed before the refusal")
    monkeypatch.setattr(Pipeline, "run", boom)


@pytest.mark.parametrize("user_file", ["first__identity.trec", "first.trec", "meta.json",
                                       "notes.txt"])
def test_run_into_a_users_folder_is_refused_before_computing(tmp_path, capsys, no_compute,
                                                             user_file):
    folder, _ = tiny_folder(tmp_path / "data")
    out = tmp_path / "mine"
    out.mkdir()
    (out / user_file).write_text("the user's own file")
    for extra in ((), ("--overwrite",)):
        assert _run(folder, out, *extra) == 2
        err = capsys.readouterr().err.strip()
        assert "holds no saved result" in err and "Traceback" not in err
        assert len(err.splitlines()) == 1
    assert [p.name for p in out.iterdir()] == [user_file]
    assert (out / user_file).read_text() == "the user's own file"


def test_a_saved_result_needs_overwrite_then_is_replaced(tmp_path, capsys):
    folder, _ = tiny_folder(tmp_path / "data")
    out = tmp_path / "out"
    assert _run(folder, out) == 0
    before = (out / "first__identity.trec").read_bytes()
    capsys.readouterr()
    assert _run(folder, out) == 2
    assert "already holds a saved result" in capsys.readouterr().err
    assert _run(folder, out, "--overwrite") == 0
    assert (out / "first__identity.trec").read_bytes() == before
    again = tmp_path / "again"
    assert main(["rerun", str(out / "meta.json"), "--output", str(again)]) == 0
    assert (again / "first__identity.trec").read_bytes() == before


def test_rerun_into_a_users_folder_is_refused_before_computing(tmp_path, capsys, monkeypatch):
    folder, _ = tiny_folder(tmp_path / "data")
    out, mine = tmp_path / "out", tmp_path / "mine"
    assert _run(folder, out) == 0
    mine.mkdir()
    (mine / "first.trec").write_text("the user's own file")
    capsys.readouterr()
    monkeypatch.setattr(Pipeline, "run", lambda self, ds: pytest.fail("computed"))
    assert main(["rerun", str(out / "meta.json"), "--output", str(mine)]) == 2
    assert "holds no saved result" in capsys.readouterr().err
    assert (mine / "first.trec").read_text() == "the user's own file"


@pytest.mark.parametrize("name", ["y" * 300, "'a\nb'", "'a\x1bb'"])
def test_a_long_or_odd_stage_name_is_one_line_before_computing(tmp_path, capsys, no_compute,
                                                               name):
    folder, _ = tiny_folder(tmp_path / "data")
    code = main(["run", "--dataset", str(folder), "--retriever", "run:first", "--reranker",
                 f"identity name={name}", "--no-cache", "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--reranker" in err and ": name " in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_stage_name_with_dots_and_slashes_stays_inside_the_output(tmp_path):
    folder, _ = tiny_folder(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["run", "--dataset", str(folder), "--retriever", "run:first", "--reranker",
                 "identity name=../../x", "--no-cache", "--output", str(out)]) == 0
    assert sorted(p.parent for p in tmp_path.rglob("*.trec") if "data" not in p.parts) == \
        [out, out]
