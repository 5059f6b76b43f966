"""The one reader of JSON object files (rankify_lite.io.json_file): every failure is one line
naming the file, never a traceback (review 6: json.loads raises a bare ValueError past 4 300
digits, a RecursionError on deep nesting)."""

from __future__ import annotations

import pytest

from rankify_lite.errors import InputError
from rankify_lite.io.json_file import load_json_object


@pytest.mark.parametrize("text,needle", [
    ('{"seed": ' + "9" * 5000 + "}", "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("{not json", "not valid JSON"),
    ("[1]", "not a JSON object"),
], ids=["5000-digits", "deep", "garbled", "a-list"])
def test_bad_json_is_one_line_naming_the_file(tmp_path, text, needle):
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(InputError, match=needle) as exc:
        load_json_object(path, "result metadata", "write it again.")
    message = str(exc.value)
    assert message.startswith(str(path)) and len(message.splitlines()) == 1
    assert message.endswith("Fix: write it again.")


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_json_object(tmp_path / "none.json", "results file", "x")
    (tmp_path / "b.json").write_bytes(b'{"a": "\xff"}')
    with pytest.raises(InputError, match="cannot read"):
        load_json_object(tmp_path / "b.json", "results file", "x")
    (tmp_path / "ok.json").write_text('{"a": 1}')
    assert load_json_object(tmp_path / "ok.json", "results file", "x") == {"a": 1}
