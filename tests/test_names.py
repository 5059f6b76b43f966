"""Declared names: one rule (printable, at most MAX_NAME, no '>>'; folders: no separators)."""

from __future__ import annotations

import pytest

from rankify_lite.errors import InputError
from rankify_lite.names import MAX_NAME, check_name

BAD = [
    ("", "is empty"),
    ("   ", "is empty"),
    ("a\x00b", r"U\+0000"),
    ("a\nb", "not printable"),
    ("tab\there", "not printable"),
    ("rtl\u202eevil", "RIGHT-TO-LEFT OVERRIDE"),
    ("a>>b", "separates the stages"),
    ("x" * (MAX_NAME + 1), f"{MAX_NAME + 1} characters long"),
    ("y" * 300, "300 characters long"),
]


@pytest.mark.parametrize(("name", "why"), BAD)
def test_a_bad_name_is_one_line_naming_the_field_and_the_fix(name, why):
    with pytest.raises(InputError, match=why) as err:
        check_name(name, "rerankers[0].name", path="board.yaml")
    text = str(err.value)
    assert text.startswith("board.yaml: rerankers[0].name ") and "Fix: use up to" in text
    assert "\n" not in text and len(text) < 400


@pytest.mark.parametrize("name", [3, None, ["a"], {"a": 1}])
def test_a_name_must_be_text(name):
    with pytest.raises(InputError, match="must be text"):
        check_name(name, "name")


@pytest.mark.parametrize("name", ["bm25", "x/y", "x_y", "cross-encoder(ms-marco-MiniLM-L6-v2)",
                                  "über-ce", "a b", "x" * MAX_NAME, "..", "/abs"])
def test_printable_stage_names_are_kept(name):
    assert check_name(name, "the stage name") == name


@pytest.mark.parametrize("name", ["../victim", "/abs/path", "a/../../b", "a\\b", ".", "..",
                                  "C:\\temp"])
def test_a_folder_name_is_one_path_component(name):
    with pytest.raises(InputError, match="path separator|current or the parent"):
        check_name(name, "the leaderboard name", folder=True)
    assert check_name(" main ", "the leaderboard name", folder=True) == "main"
