"""Every numeric command-line option and every number field of a leaderboard / expected-scores
YAML, fed a wrong type, NaN, inf, a negative and a huge value: exit 2 and one line of stderr
naming the option or field, never a traceback (issue #38, items 5 and 6).

The options are read from the parser itself, so an option added later is covered (and one
declared with a bare ``type=int`` / ``type=float``, which reads '1_0' as 10 and 'nan' as a
number, fails the first test)."""

from __future__ import annotations

import argparse

import pytest
import yaml

from rankify_lite.cli.main import build_parser, main
from rankify_lite.io.numbers import MAX_INT


def _numeric_options() -> list[tuple[str, str, argparse.Action]]:
    found = []
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command, parser in sub.choices.items():
        for action in parser._actions:
            if action.type is not None and action.option_strings:
                found.append((command, action.option_strings[-1], action))
    return found


OPTIONS = _numeric_options()


def test_every_typed_option_reads_numbers_by_the_one_rule():
    assert len(OPTIONS) >= 25  # compare, eval, run, distill
    bare = [f"{c} {o}" for c, o, a in OPTIONS if a.type in (int, float)]
    assert not bare, f"options with a bare int/float type: {bare}"
    untyped = [f"{c} {o}" for c, o, a in OPTIONS if not hasattr(a.type, "number")]
    assert not untyped


def _refused(capsys, argv: list[str], needle: str) -> str:
    assert main(argv) == 2  # argparse's refusal comes back as the exit code, in one line
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.count("\n") == 0, err
    assert "Traceback" not in err and needle in err and "Fix:" in err, err
    return err


def _bad_values(number) -> list[str]:
    values = ["abc", "nan", "-inf", "1_0", "\u0661", "[1]", "true"]
    low = number._limits()[0]
    if low is not None and low >= 0:
        values.append("-1")
    values.append("99999999999999999999" if number.whole else "1e999")
    if number.whole:
        values.append(str(number._limits()[1] + 1))
        values.append("2.5")
    if number.high is not None and not number.whole:
        values.append(repr(number.high * 2 + 1))
    return values


@pytest.mark.parametrize("command,option,action", OPTIONS,
                         ids=[f"{c}{o}" for c, o, _ in OPTIONS])
def test_a_bad_value_is_one_line_naming_the_option(capsys, command, option, action):
    for value in _bad_values(action.type.number):
        err = _refused(capsys, [command, f"{option}={value}"], f"{option} ")
        assert err.startswith(f"rankify-lite {command}: error: {option} "), err


def test_the_named_cases(capsys):
    err = _refused(capsys, ["compare", "--run", "x", "--alpha", "nan"], "--alpha")
    assert "not finite" in err
    for value in ("2", "-0.5", "0", "1"):
        assert "in (0, 1)" in _refused(capsys, ["compare", "--alpha=" + value], "--alpha")
    assert "not finite" in _refused(capsys, ["distill", "--label-scale", "nan"], "--label-scale")
    assert "at most" in _refused(capsys, ["run", "--depth", str(MAX_INT + 1)], "--depth")


def test_values_parsed_from_the_default_are_the_defaults():
    args = build_parser().parse_args(["compare", "--run", "a", "--alpha", "0.01",
                                      "--rel-level", "2"])
    assert args.alpha == 0.01 and args.rel_level == 2
    args = build_parser().parse_args(["run", "--depth", "20", "-k", "1e3"])
    assert args.depth == 20 and args.k == 1000 and isinstance(args.k, int)


def _error(capsys, argv, needle: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert err.startswith("rankify-lite: error:") and needle in err and "Fix:" in err, err
    return err


@pytest.mark.parametrize("key", ["model", "name", "depth"])
def test_option_cannot_set_what_has_its_own_flag(capsys, key):
    """--option model=x gave "load_reranker() got multiple values for keyword argument"."""
    err = _error(capsys, ["run", "--dataset", "dl19", "--retriever", "run:bm25.top100",
                          "--reranker", "identity", "--option", f"{key}=x"], f"--option {key}=")
    assert "--reranker" in err or "--model" in err or "--depth" in err


@pytest.mark.parametrize("value", ["nan", "0", "-3", "2.5", "99999999999999999999", "abc",
                                   "true"])
def test_stage_depth_in_a_reranker_value(capsys, value):
    _error(capsys, ["run", "--dataset", "dl19", "--retriever", "run:bm25.top100",
                    "--reranker", f"identity depth={value}"], "depth")


@pytest.mark.parametrize("metric", ["ndcg@99999999999999999999", "R(rel=2)@99999999999999999999",
                                    "recall@10000001", "ndcg@10-l99999999999999999999"])
def test_a_huge_metric_cutoff(tmp_path, capsys, metric):
    """It reached ranx's kernel: 'argument 2: Int value is too large'."""
    qrels, run = tmp_path / "q.tsv", tmp_path / "r.trec"
    qrels.write_text("q1\td1\t1\n")
    run.write_text("q1 Q0 d1 1 1.0 t\n")
    _error(capsys, ["eval", "--qrels", str(qrels), "--run", str(run), "-m", metric],
           "out of range")


# ---- leaderboard and expected-scores YAML --------------------------------------------------

GOOD = {"name": "t", "metrics": ["ndcg@10"], "datasets": ["trec-dl/dl19-passage"],
        "first_stages": [{"name": "bm25", "run": "bm25.top100"}],
        "rerankers": [{"name": "same", "family": "identity", "depth": 20}]}
BAD_YAML = ["abc", ".nan", ".inf", "-.inf", "-1", "99999999999999999999", "1_0", "0x10",
            "1:30", "true", "[1]", "{a: 1}", "'\u0661'"]


def _set(doc: dict, field: str, text: str) -> str:
    """``doc`` as YAML with ``field`` (a dotted path, e.g. rerankers.0.depth) written as
    ``text`` verbatim (so YAML's own spellings, .nan and 1_0, are what the loader sees)."""
    marker = "__VALUE__"
    target, *path = field.split(".")
    node = doc
    keys = [target, *path]
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[keys[-1]] = marker
    return yaml.safe_dump(doc, sort_keys=False).replace(marker, text)


LEADERBOARD_FIELDS = {"depth": "depth", "k": "k", "alpha": "alpha",
                      "rerankers.0.depth": "rerankers[0].depth"}


@pytest.mark.parametrize("field", LEADERBOARD_FIELDS)
@pytest.mark.parametrize("text", BAD_YAML + ["0"])
def test_leaderboard_number_fields(tmp_path, capsys, field, text):
    import copy

    path = tmp_path / "lb.yaml"
    path.write_text(_set(copy.deepcopy(GOOD), field, text))
    _error(capsys, ["leaderboard", str(path), "--no-plots"],
           f"{path}: {LEADERBOARD_FIELDS[field]}")
    assert not (tmp_path / "t").exists()  # refused before anything was computed or written


def test_leaderboard_alpha_must_be_a_probability(tmp_path, capsys):
    import copy

    for text in ("1", "1.5", "0.0"):
        path = tmp_path / "lb.yaml"
        path.write_text(_set(copy.deepcopy(GOOD), "alpha", text))
        assert "in (0, 1)" in _error(capsys, ["leaderboard", str(path)], "alpha")


EXPECTED = {"entries": [{"id": "a", "dataset": "dl19", "first_stage": {"run": "bm25.top100"},
                         "k": 100, "scores": {"ndcg@10": 0.5}, "tolerance": 0.001}]}
EXPECTED_FIELDS = {"entries.0.tolerance": "entries[0].tolerance",
                   "entries.0.k": "entries[0].k",
                   "entries.0.scores.ndcg@10": "entries[0].scores.ndcg@10"}


@pytest.mark.parametrize("field", EXPECTED_FIELDS)
@pytest.mark.parametrize("text", BAD_YAML)
def test_expected_scores_number_fields(tmp_path, capsys, field, text):
    """A NaN tolerance or expected score made ``leaderboard --check`` pass vacuously."""
    import copy

    path = tmp_path / "e.yaml"
    path.write_text(_set(copy.deepcopy(EXPECTED), field, text))
    _error(capsys, ["leaderboard", "--check", str(path)], f"{path}: {EXPECTED_FIELDS[field]}")


# ---- files a model or a reranker reads --------------------------------------------------------

@pytest.mark.parametrize("text", ["abc", ".nan", "1.5", "0", "-1", "[1]", "1_0", "true",
                                  "99999999999999999999"])
def test_a_prompt_file_with_an_unknown_version(tmp_path, text):
    from rankify_lite.errors import InputError
    from rankify_lite.rerankers.prompts.templates import load_prompt

    path = tmp_path / "p.yaml"
    path.write_text(f"name: mine\nversion: {text}\nprompt: 'Q: {{query}}'\n")
    with pytest.raises(InputError) as err:
        load_prompt(path)
    message = str(err.value)
    assert message.startswith(f"{path}: prompt template version") and "Fix:" in message
    path.write_text("name: mine\nversion: 3\nprompt: 'Q: {query}'\n")
    assert load_prompt(path).version == 3


@pytest.mark.parametrize("family", ["cross-encoder", "bi-encoder"])
def test_a_weights_file_that_is_a_pickle(tmp_path, capsys, family):
    """torch.load(weights_only=True) refuses it with a page-long UnpicklingError; the run says
    which file in one line (and nothing in the pickle runs)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import os
    import pickle

    from helpers.tiny import tiny_bert_folder

    folder = tmp_path / "model"
    tiny_bert_folder(folder)
    (folder / "model.safetensors").unlink()
    witness = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(witness),))

    with open(folder / "pytorch_model.bin", "wb") as fh:
        pickle.dump({"weight": Payload()}, fh)
    capsys.readouterr()  # the helper's own save_pretrained progress
    err = _error(capsys, ["run", "--dataset", "dl19", "--retriever", "run:bm25.top100",
                          "--reranker", family, "--model", str(folder), "--no-cache",
                          "--depth", "2"], "pickle that is not plain tensors")
    assert str(folder / "pytorch_model.bin") in err and not witness.exists()


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "[1, NaN]",
                                   '{"a": Infinity}'])
def test_json_option_values_are_finite(capsys, value):
    """JSON (Python's json) reads NaN and Infinity; a flag's number is finite."""
    for flag in ("--option", "--retriever-option"):
        err = _error(capsys, ["run", "--dataset", "dl19", "--retriever", "bm25", flag,
                              f"batch_size={value}"], f"{flag} batch_size=")
        assert "not a finite number" in err


def test_compare_baseline_index_is_ascii(tmp_path, capsys):
    """'\u0661'.isdigit() is True: it named run 1; now it is a file name, which no run has."""
    qrels, a, b = tmp_path / "q.tsv", tmp_path / "a.trec", tmp_path / "b.trec"
    qrels.write_text("q1\td1\t1\nq2\td2\t1\n")
    a.write_text("q1 Q0 d1 1 1.0 t\nq2 Q0 d2 1 1.0 t\n")
    b.write_text("q1 Q0 d9 1 1.0 t\nq2 Q0 d2 1 1.0 t\n")
    common = ["compare", "--qrels", str(qrels), "--run", str(a), "--run", str(b)]
    assert main([*common, "--baseline", "1", "--json"]) == 0
    capsys.readouterr()
    _error(capsys, [*common, "--baseline", "\u0661"], "baseline '\u0661'")


@pytest.mark.parametrize("key", ["model", "name", "depth"])
def test_leaderboard_options_cannot_set_what_the_entry_declares(tmp_path, capsys, key):
    """The YAML twin of --option model=x: a TypeError when the reranker was built."""
    import copy

    doc = copy.deepcopy(GOOD)
    doc["rerankers"][0]["options"] = {key: "x"}
    path = tmp_path / "lb.yaml"
    path.write_text(yaml.safe_dump(doc))
    _error(capsys, ["leaderboard", str(path)], f"{path}: rerankers[0].options.{key} is a key")
