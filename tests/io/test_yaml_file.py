"""YAML inputs (prompt templates, leaderboard configs, collection metadata): errors name the file
and line, never echo its content; a prompt path is taken as given before any model loads."""

from __future__ import annotations

import pytest

from rankify_lite.errors import InputError
from rankify_lite.leaderboard.config import load_config
from rankify_lite.rerankers.prompts.templates import load_prompt

SECRET = "api_key: sk-live-SECRET [unclosed"


def test_yaml_errors_do_not_echo_the_file(tmp_path):
    path = tmp_path / "board.yaml"
    path.write_text(f"name: x\n{SECRET}\n")
    for loader in (load_config, load_prompt):
        with pytest.raises(InputError) as err:
            loader(path)
        assert "SECRET" not in str(err.value) and f"{path}:" in str(err.value)


def test_existing_non_prompt_file_is_named_as_such(tmp_path):
    notes = tmp_path / "NOTES"              # no suffix, exists: it is the file the user meant
    notes.write_text("just some notes\n")
    with pytest.raises(InputError, match="not a prompt template") as err:
        load_prompt(notes)
    assert "not found" not in str(err.value)
    with pytest.raises(InputError, match="not found"):
        load_prompt(tmp_path / "missing")


@pytest.mark.parametrize("family", ["first", "listwise", "pointwise"])
def test_bad_prompt_fails_before_any_model_loads(tmp_path, family):
    from rankify_lite import load_reranker

    notes = tmp_path / "NOTES"
    notes.write_text("just some notes\n")
    # the model id does not exist: had it been loaded first, the error would be about the model
    with pytest.raises(InputError, match="not a prompt template"):
        load_reranker(family, model=str(tmp_path / "no-such-model"), prompt=str(notes))
