"""The one number rule (rankify_lite.io.numbers): plain ASCII, finite, in the declared range."""

from __future__ import annotations

import argparse
import math
import re

import numpy as np
import pytest

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import (
    COUNT,
    CUTOFF,
    FINITE,
    MAX_INT,
    PROBABILITY,
    WHOLE,
    Number,
    id_text,
)


@pytest.mark.parametrize("text,value", [
    ("0", 0.0), ("-3", -3.0), ("+2", 2.0), ("0.5", 0.5), (".5", 0.5), ("5.", 5.0),
    ("1e-4", 1e-4), ("2E3", 2000.0), ("-1.5e+2", -150.0),
])
def test_plain_decimals_are_read(text, value):
    assert FINITE.parse(text, "x") == value and isinstance(FINITE.parse(text, "x"), float)


@pytest.mark.parametrize("text,why", [
    ("1_0", "is not a number"),                 # int()/float() read 10
    ("\u0661", "is not a number"),              # Arabic-Indic one: int() reads 1
    ("\uff11", "is not a number"),              # fullwidth one
    (" 1", "is not a number"), ("1 ", "is not a number"), ("", "is not a number"),
    ("0x10", "is not a number"), ("1/2", "is not a number"), ("abc", "is not a number"),
    ("nan", "is not finite"), ("NaN", "is not finite"), ("-inf", "is not finite"),
    ("Infinity", "is not finite"), ("1e999", "is not finite"),
])
def test_what_python_would_read_loosely_is_refused(text, why):
    with pytest.raises(InputError, match=why) as err:
        FINITE.parse(text, "score", path="f.trec", line=7)
    assert str(err.value).startswith("f.trec:7: score ") and "Fix:" in str(err.value)


def test_whole_numbers_take_integral_floats_only():
    assert COUNT.parse("3", "k") == 3 and isinstance(COUNT.parse("3.0", "k"), int)
    assert COUNT.parse("1e3", "k") == 1000
    for text in ("2.5", "1e-1"):
        with pytest.raises(InputError, match="not a whole number"):
            COUNT.parse(text, "k")
    assert COUNT.check(4.0, "k") == 4 and COUNT.check(np.int64(7), "k") == 7


@pytest.mark.parametrize("kind,inside,outside", [
    (PROBABILITY, ["0.05", "1e-9", "0.999"], ["0", "1", "-0.5", "2"]),
    (COUNT, ["1", str(MAX_INT)], ["0", "-1", str(MAX_INT + 1), "99999999999999999999"]),
    (CUTOFF, ["1", "10000000"], ["0", "10000001"]),
    (WHOLE, ["-2", "0", "3"], ["99999999999999999999"]),
    (Number(low=0, high=1), ["0", "1"], ["-1e-9", "1.0001"]),
])
def test_declared_ranges(kind, inside, outside):
    for text in inside:
        kind.parse(text, "v")
    for text in outside:
        with pytest.raises(InputError,
                           match="out of range: it must be " + re.escape(kind.describe())):
            kind.parse(text, "v")


@pytest.mark.parametrize("value", [True, False, None, [1], {"a": 1}, math.nan, math.inf,
                                   np.float64("nan"), "abc", ".nan", 10**400])
def test_values_from_files_are_checked_by_the_same_rule(value):
    with pytest.raises(InputError, match="alpha") as err:
        PROBABILITY.check(value, "alpha", path="lb.yaml")
    assert str(err.value).startswith("lb.yaml: alpha")


def test_text_in_a_typed_file_is_not_a_number_but_in_a_text_column_it_is_read():
    """A quoted "10" in YAML is text: refused (our YAML loader reads 1e-4 as the number it
    is); a DataFrame column of strings is read by the rule (text=True)."""
    for value in ("0.5", "1e-4"):
        with pytest.raises(InputError, match="alpha is quoted text .*, not a number"):
            PROBABILITY.check(value, "alpha")
    with pytest.raises(InputError, match="alpha '1_0' is not a number"):
        PROBABILITY.check("1_0", "alpha")
    assert PROBABILITY.check("1e-4", "alpha", text=True) == 1e-4
    with pytest.raises(InputError, match="'1_0' is not a number"):
        PROBABILITY.check("1_0", "alpha", text=True)
    assert PROBABILITY.check(np.float32(0.5), "alpha") == 0.5


def test_argtype_gives_argparse_one_message():
    parser = argparse.ArgumentParser(prog="p", exit_on_error=False)
    parser.add_argument("--alpha", type=PROBABILITY.argtype("--alpha"))
    assert parser.parse_args(["--alpha", "0.01"]).alpha == 0.01
    for bad in ("nan", "2", "-0.5", "1_0"):
        with pytest.raises(argparse.ArgumentError, match=r"--alpha '.*'.*in \(0, 1\)"):
            parser.parse_args(["--alpha", bad])


def test_ids_as_numbers():
    assert [id_text(v, "qid") for v in ("a", "1.0", 1, 1.0, np.int64(2), np.float32(3))] == \
        ["a", "1.0", "1", "1", "2", "3"]
    for value, why in ((1.5, "not a whole number"), (math.nan, "missing"), (None, "not an id"),
                       (False, "not an id"), (np.float64("nan"), "missing")):
        with pytest.raises(InputError, match=why):
            id_text(value, "qid")


def test_yaml_numbers_are_plain_decimals(tmp_path):
    """YAML 1.1 reads 1_0 as 10, 0x10 as 16, 1:30 as 90 and 012 as 10: the first three stay
    text (the number rule then refuses them by name), 012 is 12; plain decimals, 1e-4
    included, are numbers; an explicit !!int 0x10 is invalid YAML, named by line."""
    from rankify_lite.io.yaml_file import load_yaml_file

    path = tmp_path / "a.yaml"
    path.write_text("a: 1_0\nb: 0x10\nc: 1:30\nd: 012\ne: 0o7\nf: 1e-4\ng: -3\nh: .5\n"
                    "i: .nan\nj: -.inf\nk: 0\nl: 2.50\nm: true\n")
    got = load_yaml_file(path)
    assert [got[k] for k in "abce"] == ["1_0", "0x10", "1:30", "0o7"] and got["d"] == 12
    assert [got[k] for k in "fghklm"] == [1e-4, -3, 0.5, 0, 2.5, True]
    assert math.isnan(got["i"]) and got["j"] == -math.inf
    for key in "abcij":
        with pytest.raises(InputError, match=f"^{path}: {key} "):
            FINITE.check(got[key], key, path=path)
    path.write_text("a: 1\nb: !!int 0x10\n")
    with pytest.raises(InputError, match=f"^{path}:2: invalid YAML"):
        load_yaml_file(path)


@pytest.mark.parametrize("kind", [FINITE, WHOLE, COUNT])
def test_a_number_past_pythons_digit_limit_is_out_of_range_not_a_value_error(kind):
    """int() stops at 4 300 digits with a bare ValueError: the parser refuses long text first
    (review 6), by every reader that uses it."""
    for text in ("9" * 5000, "-" + "9" * 5000, "1" * 401, "0." + "1" * 500):
        with pytest.raises(InputError, match="out of range") as exc:
            kind.parse(text, "x")
        assert len(str(exc.value)) < 400
    assert FINITE.parse("1" * 300, "x") == float("1" * 300)   # long but in range: read


def test_readers_refuse_a_5000_digit_integer_in_one_line(tmp_path):
    from rankify_lite.io.trec import read_run
    from rankify_lite.io.yaml_file import load_yaml_file

    big = "9" * 5000
    trec = tmp_path / "big.trec"
    trec.write_text(f"q1 Q0 d1 {big} 1.0 t\n")
    with pytest.raises(InputError, match="out of range"):
        read_run(trec)
    trec.write_text(f"q1 Q0 d1 1 {big} t\n")
    with pytest.raises(InputError, match="out of range"):
        read_run(trec)
    yml = tmp_path / "big.yaml"
    yml.write_text(f"depth: {big}\n")
    with pytest.raises(InputError, match="out of range") as exc:
        load_yaml_file(yml)
    assert str(exc.value).startswith(f"{yml}:1:")


def test_the_fast_path_reads_what_the_rules_read():
    """Plain decimals take a quick path (no message built); it gives the same values and lets
    every refusal through to the full path: range, whole numbers, finiteness, 1_0."""
    import random

    from rankify_lite.io.numbers import FINITE, MAX_INT, WHOLE, Number

    rank = Number(whole=True, low=0)
    unit = Number(low=0, high=1, high_open=True)
    rng = random.Random(0)
    for _ in range(2000):
        x = rng.uniform(-1e6, 1e6)
        for text in (repr(x), f"{x:.3f}", f"{x:e}", str(int(x)), f"{x:.0f}."):
            assert FINITE.parse(text, "v") == float(text)
        n = str(rng.randrange(0, MAX_INT))
        assert WHOLE.parse(n, "v") == int(n) and type(WHOLE.parse(n, "v")) is int
    assert WHOLE.parse("1e3", "v") == 1000 and type(WHOLE.parse("1e3", "v")) is int
    assert FINITE.parse("9" * 30 + "e99", "v") == float("9" * 30 + "e99")
    for rule, text in ((rank, "-1"), (WHOLE, "1.5"), (WHOLE, str(MAX_INT + 1)),
                       (unit, "1"), (unit, "1.0"), (unit, "-0.1"), (FINITE, "1e999"),
                       (FINITE, "1_0"), (FINITE, "nan"), (WHOLE, "١")):
        with pytest.raises(InputError):
            rule.parse(text, "v")
