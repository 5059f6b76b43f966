"""An output folder is new, empty, or an output of ours (then --overwrite), never a user's."""

from __future__ import annotations

import pytest

from rankify_lite.errors import InputError
from rankify_lite.io.output_folder import check_output_folder


def ours(folder):
    marker = folder / "marker.json"
    return frozenset({"marker.json", "a.trec"}) if marker.is_file() else None


def check(folder, overwrite=False, files=("a.trec", "b.trec", "marker.json")):
    return check_output_folder(folder, files, previous=ours, overwrite=overwrite,
                               what="saved result")


def test_new_and_empty_folders_are_fine(tmp_path):
    assert check(tmp_path / "new") == frozenset()
    (tmp_path / "empty").mkdir()
    assert check(tmp_path / "empty") == frozenset()
    assert not (tmp_path / "new").exists()          # checking creates nothing


@pytest.mark.parametrize("user_file", ["a.trec", "notes.txt", "marker.txt"])
def test_a_users_folder_is_refused_whatever_it_holds(tmp_path, user_file):
    (tmp_path / user_file).write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(InputError, match="not empty and holds no saved result"):
            check(tmp_path, overwrite)
    assert (tmp_path / user_file).read_text() == "mine"


def test_a_clash_is_named(tmp_path):
    (tmp_path / "b.trec").write_text("mine")
    with pytest.raises(InputError, match="it holds b.trec, which this run would write"):
        check(tmp_path)


def test_our_output_needs_overwrite_and_keeps_files_it_did_not_write(tmp_path):
    (tmp_path / "marker.json").write_text("{}")
    (tmp_path / "a.trec").write_text("old run")
    with pytest.raises(InputError, match="already holds a saved result.*--overwrite"):
        check(tmp_path)
    assert check(tmp_path, overwrite=True) == {"marker.json", "a.trec"}
    (tmp_path / "b.trec").write_text("a user's file beside the result")
    with pytest.raises(InputError, match="holds b.trec, which the saved result there did not "
                                         "write"):
        check(tmp_path, overwrite=True)


def test_a_file_is_not_a_folder_and_names_stay_inside(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        check(tmp_path / "f")
    with pytest.raises(InputError, match="not a path inside"):
        check(tmp_path / "new", files=("../victim.trec",))
