"""A leaderboard's names: validated where declared, its folder inside the config's, never a
user's folder; every refusal comes before any system is computed."""

from __future__ import annotations

import json
import os

import pytest
from helpers.tiny_folder import tiny_folder

from rankify_lite.cli.main import main as cli
from rankify_lite.errors import InputError
from rankify_lite.leaderboard import load_config, run_leaderboard
from rankify_lite.leaderboard.report import write_reports


def _config(tmp_path, *, name="board", first="first", reranker="same") -> str:
    folder, _ = tiny_folder(tmp_path / "data")
    return "\n".join([
        *([f"name: {json.dumps(name)}"] if name is not None else []),
        "metrics: [ndcg@10]",
        f"datasets: [{json.dumps(str(folder))}]",
        f"first_stages: [{{name: {json.dumps(first)}, run: first}}]",
        f"rerankers: [{{name: {json.dumps(reranker)}, family: identity, depth: 3}}]", ""])


def _write(tmp_path, text, stem="board"):
    path = tmp_path / "cfg" / f"{stem}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def no_compute(monkeypatch):
    """Any leaderboard run fails the test: a refusal must come before computing."""
    import rankify_lite.leaderboard as board

    def boom(*a, **k):
        raise AssertionError("computed before the refusal")
    monkeypatch.setattr(board, "run_leaderboard", boom)


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", ["../victim", "/abs/path", "a/../../b", "a\\b", "..", ".",
                                  "a\x00b", "a\nb", "y" * 300])
def test_a_leaderboard_name_that_is_not_one_folder_is_refused(tmp_path, capsys, no_compute,
                                                             name):
    path = _write(tmp_path, _config(tmp_path, name=name))
    before = _files(tmp_path)
    with pytest.raises(InputError, match="the leaderboard name") as err:
        load_config(path)
    assert str(err.value).startswith(str(path)) and "Fix:" in str(err.value)
    assert cli(["leaderboard", str(path), "--no-plots", "--no-cache"]) == 2
    out = capsys.readouterr().err.strip()
    assert len(out.splitlines()) == 1 and "leaderboard name" in out
    assert _files(tmp_path) == before     # nothing written anywhere


@pytest.mark.parametrize(("field", "kwargs"), [
    ("rerankers[0].name", {"reranker": "y" * 300}),
    ("rerankers[0].name", {"reranker": "a>>b"}),
    ("rerankers[0].name", {"reranker": "tab\there"}),
    ("first_stages[0].name", {"first": "x" * 101}),
    ("first_stages[0].name", {"first": "a\x00b"}),
    ("first_stages[0].name", {"first": "a>>b"}),
])
def test_system_names_are_checked_where_the_config_declares_them(tmp_path, field, kwargs):
    path = _write(tmp_path, _config(tmp_path, **kwargs))
    with pytest.raises(InputError, match=rf"{field.replace('[', '.').replace(']', '.')} ") \
            as err:
        load_config(path)
    assert str(err.value).startswith(str(path))


def test_a_files_stem_is_checked_as_the_name(tmp_path):
    path = _write(tmp_path, _config(tmp_path, name=None), stem="a\tb")
    with pytest.raises(InputError, match="the file's stem"):
        load_config(path)


def test_a_link_named_like_the_board_that_leaves_the_folder_is_refused(tmp_path, no_compute):
    path = _write(tmp_path, _config(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, path.parent / "board")
    with pytest.raises(InputError, match="outside the folder"):
        load_config(path).output_dir()
    assert cli(["leaderboard", str(path), "--no-plots", "--no-cache"]) == 2
    assert not any(elsewhere.iterdir())


@pytest.mark.parametrize("user_file", ["table.md", "results.json", "notes.txt"])
def test_a_users_folder_is_never_written_into(tmp_path, capsys, no_compute, user_file):
    path = _write(tmp_path, _config(tmp_path))
    for folder, extra in ((path.parent / "board", []), (tmp_path / "mine", ["--output"])):
        folder.mkdir()
        (folder / user_file).write_text("the user's own file")
        argv = ["leaderboard", str(path), "--no-plots", "--no-cache"]
        argv += [*extra, str(folder)] if extra else []
        for overwrite in ([], ["--overwrite"]):
            assert cli(argv + overwrite) == 2
            assert "holds no leaderboard output" in capsys.readouterr().err
        assert _files(folder) == [user_file]
        assert (folder / user_file).read_text() == "the user's own file"


def test_an_earlier_output_needs_overwrite(tmp_path, capsys):
    path = _write(tmp_path, _config(tmp_path))
    argv = ["leaderboard", str(path), "--no-plots", "--no-cache"]
    assert cli(argv) == 0
    out = path.parent / "board"
    (out / "table.md").write_text("stale")
    capsys.readouterr()
    assert cli(argv) == 2
    assert "already holds a leaderboard output" in capsys.readouterr().err
    assert (out / "table.md").read_text() == "stale"
    assert cli([*argv, "--overwrite"]) == 0
    assert "0.6199" in (out / "table.md").read_text()
    (out / "notes.txt").write_text("mine")      # a user's file beside our output is kept
    assert cli([*argv, "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "mine"


def test_write_reports_checks_the_folder_itself(tmp_path):
    path = _write(tmp_path, _config(tmp_path))
    result = run_leaderboard(load_config(path), cache=False, progress=False, log=None)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "expected.yaml").write_text("mine")
    with pytest.raises(InputError, match="holds no leaderboard output"):
        write_reports(result, mine, plots=False)
    assert (mine / "expected.yaml").read_text() == "mine"
    paths = write_reports(result, tmp_path / "new", plots=False)
    assert all(p.parent == tmp_path / "new" for p in paths.values())
