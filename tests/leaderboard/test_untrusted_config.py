"""A leaderboard YAML is untrusted data (issue #23): no alias bombs, no remote code without the
command-line flag, no file-writing options, text fields are text, unknown options refused for
every family (identity too); every error names the file and the key."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from rankify_lite.cli.main import main
from rankify_lite.errors import InputError
from rankify_lite.leaderboard import load_config, parse_config

BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x, x]"]
                 + [f"{c}: &{c} [{', '.join(['*' + p] * 10)}]"
                    for p, c in zip("abcdefgh", "bcdefghi", strict=True)])


def _good(**change) -> dict:
    cfg = {"name": "t", "datasets": ["trec-dl/dl19-passage"],
           "first_stages": [{"name": "bm25", "run": "bm25.top100"}],
           "rerankers": [{"name": "same", "family": "identity", "depth": 20}]}
    cfg.update(change)
    return cfg


@pytest.mark.parametrize("where", ["title", "options"])
def test_alias_bombs_are_refused_at_once(tmp_path, where):
    path = tmp_path / "lb.yaml"
    body = (f"{BOMB}\ntitle: *i\n" if where == "title"
            else f"{BOMB}\nrerankers: [{{family: identity, options: {{x: *i}}}}]\n")
    path.write_text("datasets: [beir/scifact]\nfirst_stages: [{retriever: bm25}]\n" + body)
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="alias") as err:
        load_config(path)
    assert time.perf_counter() - t0 < 30  # (a guard against hanging, not a timing claim)
    assert str(err.value).startswith(f"{path}:4:")


def test_python_tags_are_refused(tmp_path):
    path = tmp_path / "lb.yaml"
    marker = tmp_path / "marker"
    path.write_text(f"title: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(InputError, match="could not determine a constructor"):
        load_config(path)
    assert not marker.exists()


@pytest.mark.parametrize("change", [{"title": 5}, {"name": ["a"]}, {"note": {"x": 1}},
                                    {"datasets": [{"name": 19}]},
                                    {"rerankers": [{"family": "identity", "model": 3}]}])
def test_text_fields_must_be_text(change):
    with pytest.raises(InputError, match="must be text"):
        parse_config(_good(**change))


def test_unknown_options_are_refused_for_identity_too():
    with pytest.raises(InputError, match="has no option 'batch_sise'"):
        parse_config(_good(rerankers=[{"family": "identity", "options": {"batch_sise": 3}}]))


def test_remote_code_needs_the_command_line_flag(tmp_path, capsys):
    entry = {"name": "ce", "family": "cross-encoder", "options": {"trust_remote_code": True}}
    with pytest.raises(InputError, match=r"rerankers\[0\]\.trust_remote_code"):
        parse_config(_good(rerankers=[entry]))
    path = tmp_path / "lb.yaml"
    path.write_text(json.dumps(_good(rerankers=[entry])))
    assert main(["leaderboard", str(path)]) == 2
    err = capsys.readouterr().err
    assert "--trust-remote-code" in err and str(path) in err and "Traceback" not in err
    # with the flag the remote-code check passes
    assert load_config(path, trust_remote_code=True).rerankers[0].options == {
        "trust_remote_code": True}
    # a family without the option refuses it as unknown, flag or not
    other = {"name": "id", "family": "identity", "options": {"trust_remote_code": True}}
    with pytest.raises(InputError, match="has no option 'trust_remote_code'"):
        parse_config(_good(rerankers=[other]), trust_remote_code=True)
    nested = {"name": "bm25", "retriever": "bm25", "options": {"x": {"trust_remote_code": 1}}}
    with pytest.raises(InputError, match="has no option 'x'"):
        parse_config(_good(first_stages=[nested]))


def test_file_writing_options_are_refused(tmp_path):
    victim = tmp_path / "victim"
    entry = {"family": "pointwise", "options": {"log_path": str(victim)}}
    with pytest.raises(InputError, match="log_path"):
        parse_config(_good(rerankers=[entry]))
    with pytest.raises(InputError, match="index_root"):
        parse_config(_good(first_stages=[{"retriever": "bm25",
                                          "options": {"index_root": str(victim)}}]))
    assert not victim.exists()


def test_a_dataset_path_keeps_its_leading_slash(tmp_path):
    from rankify_lite import load_dataset

    missing = tmp_path / "no" / "such-dataset"
    with pytest.raises(Exception, match="dataset folder does not exist") as err:
        load_dataset(str(missing))
    assert str(err.value).startswith(f"{missing}:")
    assert Path(str(missing)).is_absolute()


@pytest.mark.parametrize("k", [0, -95, "10", True])
def test_k_below_one_or_not_a_number_is_refused(k):
    with pytest.raises(InputError, match="first-stage depth"):
        parse_config(_good(k=k))


def test_the_leaderboard_names_a_missing_dataset_path_whole(tmp_path, capsys):
    missing = tmp_path / "gone" / "dl19"
    path = tmp_path / "lb.yaml"
    path.write_text(json.dumps(_good(datasets=[str(missing)])))
    code = main(["leaderboard", str(path), "--no-plots", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2 and f"{missing}: dataset folder does not exist" in err
