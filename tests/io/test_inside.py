"""inside(root, name): every path a name becomes stays inside the folder the user chose."""

from __future__ import annotations

import os

import pytest

from rankify_lite.errors import InputError
from rankify_lite.io.files import inside


@pytest.mark.parametrize("name", ["../victim", "/abs/path", "a/../../b", "..", "a/..",
                                  "..\\victim", "C:\\temp\\x", "\\\\server\\share", "a\x00b",
                                  ""])
def test_names_that_leave_the_folder_are_refused(tmp_path, name):
    root = tmp_path / "out"
    with pytest.raises(InputError, match="not a path inside the folder") as err:
        inside(root, name)
    assert str(err.value).startswith(str(root)) and "Fix:" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    root, outside = tmp_path / "out", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "link")
    os.symlink(outside / "victim.trec", root / "victim.trec")
    for name in ("link/x.trec", "victim.trec"):
        with pytest.raises(InputError, match="outside the folder"):
            inside(root, name)


def test_names_inside_are_returned_under_the_root(tmp_path):
    root = tmp_path / "out"
    (root / "sub").mkdir(parents=True)
    os.symlink(root / "sub", root / "link")  # a link that stays inside is fine
    assert inside(root, "a.trec") == root / "a.trec"
    assert inside(root, "sub/b.trec") == root / "sub" / "b.trec"
    assert inside(root, "link/c.trec") == root / "link" / "c.trec"
    assert inside(root, "x..y.trec") == root / "x..y.trec"   # dots inside a name are not '..'
