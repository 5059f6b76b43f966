"""The one parser for numbers that come from files and flags.

A number is read by the rule its field declares (:class:`Number`: whole or not, and its range),
the same way wherever it comes from: a TREC column, a YAML field, a command-line flag, a
DataFrame cell. The rule:

* text is plain ASCII decimal: ``12``, ``-3``, ``0.5``, ``.5``, ``1e-4``. Python's ``int`` and
  ``float`` also accept ``1_0`` (read as 10), non-ASCII digits (``'١'``), surrounding spaces and
  ``nan`` / ``inf``; trec_eval (C's ``atof``) and other tools read those differently or not
  at all, so they are refused;
* a number is finite (a NaN passes every comparison, so a check on it cannot fail);
* it lies in the field's declared range (probabilities in (0, 1), counts >= 1, ...); whole
  numbers are also bounded above (by ``MAX_INT`` unless the field says otherwise), so a huge
  value is refused where it is read, not by a C library deep inside a run;
* a whole-number field takes an integral float (``3.0`` -> 3), never a fractional one; a bool
  (YAML ``true``) is not a number, nor is quoted text in a typed file (YAML ``alpha: "0.05"``;
  our YAML loader reads only plain decimals as numbers: see ``io/yaml_file.py``).

Ids that arrive as numbers (a pandas column of floats) follow :func:`id_text`: integral floats
are written as integers (``1.0`` -> ``'1'``), fractional and missing ones (NaN) are refused.
Every refusal is an :class:`~rankify_lite.errors.InputError` naming the field.
"""

from __future__ import annotations

import argparse
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError

#: the largest whole number a field takes unless it declares its own bound (a C ``int``)
MAX_INT = 2**31 - 1
#: the longest text read as a number (a float's range ends near 1e308; Python's ``int`` stops at
#: 4 300 digits with an error of its own)
MAX_DIGITS = 400
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: a plain decimal short enough to be finite as a float (the fast path of Number.parse)
_QUICK = re.compile(r"[+-]?[0-9]{1,30}(?:\.[0-9]{0,30})?(?:[eE][+-]?[0-9]{1,2})?")
_QUICK_LEN = 64
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.I)


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


@dataclass(frozen=True, slots=True)
class Number:
    """What a numeric field accepts: ``whole`` numbers or not, in ``[low, high]`` (an end is
    excluded when ``low_open`` / ``high_open``; None: unbounded, except +-MAX_INT for whole
    numbers)."""

    whole: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        """The rule in words: 'a whole number >= 1', 'a number in (0, 1)'."""
        kind = "a whole number" if self.whole else "a number"
        low, high = self.low, self.high
        if low is not None and high is not None:
            return (f"{kind} in {'(' if self.low_open else '['}{_num(low)}, "
                    f"{_num(high)}{')' if self.high_open else ']'}")
        if low is not None:
            return f"{kind} {'>' if self.low_open else '>='} {_num(low)}"
        if high is not None:
            return f"{kind} {'<' if self.high_open else '<='} {_num(high)}"
        return kind  # finite, as every number

    def _bounds(self) -> str:
        """:meth:`describe` with the implicit bounds of whole numbers spelled out."""
        if not self.whole or self.high is not None:
            return self.describe()
        return self.describe() + (f", at most {MAX_INT}" if self.low is not None
                                  else f" between -{MAX_INT} and {MAX_INT}")

    def _limits(self) -> tuple[float | None, float | None]:
        """(low, high), with a whole number's implicit bounds (+-MAX_INT)."""
        if not self.whole:
            return self.low, self.high
        return (-MAX_INT if self.low is None else self.low,
                MAX_INT if self.high is None else self.high)

    def parse(self, text: str, what: str, *, path: str | Path | None = None,
              line: int | None = None, fix: str | None = None) -> Any:
        """The number written in ``text`` (an int for whole fields), or an InputError naming
        ``what`` (and ``path:line`` when given)."""
        if type(text) is str and len(text) <= _QUICK_LEN and _QUICK.fullmatch(text):
            # the common case (a plain decimal, finite, no refusal to word): no message built
            if not self.whole and self.low is None and self.high is None:
                return float(text)  # finite: the pattern bounds digits and exponent
            quick = self._quick(int(text) if _INT.fullmatch(text) else float(text))
            if quick is not None:
                return quick
        fix = fix or f"write {what} as {self.describe()}, in plain ASCII digits."
        if not isinstance(text, str):
            raise InputError(f"{what} must be {self.describe()}, got {_show(text)}.",
                             path=path, line=line, fix=fix)
        if _NON_FINITE.fullmatch(text):
            raise InputError(f"{what} {_show(text)} is not finite.", path=path, line=line,
                             fix=fix)
        if len(text) > MAX_DIGITS:  # int() refuses past 4 300 digits with a bare ValueError
            raise InputError(f"{what} {_show(text)} is out of range: it must be "
                             f"{self._bounds()}, in at most {MAX_DIGITS} characters.",
                             path=path, line=line, fix=fix)
        if _INT.fullmatch(text):
            value: float = int(text)
        elif _FLOAT.fullmatch(text):
            value = float(text)
        else:
            raise InputError(f"{what} {_show(text)} is not {self.describe()}.", path=path,
                             line=line, fix=fix)
        return self._ranged(value, what, path, line, fix, text)

    def _quick(self, value: float) -> Any:
        """``value`` when it passes every rule as is (else None: the full path words why)."""
        if self.whole:
            if isinstance(value, float):
                if value != int(value):
                    return None
                value = int(value)
        else:
            value = float(value)
        return None if self._outside(value) else value

    def _outside(self, value: float) -> str | None:
        """Which end of the range ``value`` lies beyond ("low" / "high"), or None."""
        low, high = self._limits()
        if low is not None and (value < low or (self.low_open and value == low)):
            return "low"
        if high is not None and (value > high or (self.high_open and value == high)):
            return "high"
        return None

    def check(self, value: Any, what: str, *, path: str | Path | None = None,
              fix: str | None = None, text: bool = False) -> Any:
        """``value`` from a parsed file (YAML, JSON, a frame cell): a number; a bool, list,
        mapping or text is refused (a quoted "10" in a YAML file is text), unless ``text``
        (a DataFrame column of strings): then text is read by :meth:`parse`."""
        if isinstance(value, str):
            number = self.parse(value.strip(), what, path=path, fix=fix)
            if text:
                return number
            raise InputError(f"{what} is quoted text {_show(value)}, not a number.", path=path,
                             fix=fix or f"write {what} unquoted, as {self.describe()}.")
        fix = fix or f"write {what} as {self.describe()}, unquoted."
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InputError(f"{what} must be {self.describe()}, got {type(value).__name__} "
                             f"{_show(value)}.", path=path, fix=fix)
        return self._ranged(value, what, path, None, fix, value)

    def argtype(self, option: str) -> Callable[[str], Any]:
        """An argparse ``type=`` for ``option``: the refusal is argparse's one-line error."""
        def convert(text: str) -> Any:
            try:
                return self.parse(text, option)
            except InputError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        convert.__name__ = self.describe()
        convert.number = self  # type: ignore[attr-defined]  # the rule, for --help and tests
        return convert

    def _ranged(self, value: Any, what: str, path: Any, line: int | None, fix: str,
                shown: Any) -> Any:
        given = _show(shown)
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{what} {given} is not finite.", path=path, line=line,
                             fix=fix)
        if self.whole:
            if value != int(value):
                raise InputError(f"{what} {given} is not a whole number.", path=path,
                                 line=line, fix=fix)
            value = int(value)
        else:
            try:
                value = float(value)
            except OverflowError:  # an int beyond any float
                raise InputError(f"{what} {given} is out of range: it must be "
                                 f"{self.describe()}.", path=path, line=line, fix=fix) from None
        side = self._outside(value)
        if side is not None:  # past a whole number's implicit top, the bound is spelled out
            rule = self._bounds() if side == "high" else self.describe()
            raise InputError(f"{what} {given} is out of range: it must be {rule}.", path=path,
                             line=line, fix=fix)
        return value


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


#: the declared kinds used across the package
FINITE = Number()
PROBABILITY = Number(low=0, high=1, low_open=True, high_open=True)
NON_NEGATIVE = Number(low=0)
POSITIVE = Number(low=0, low_open=True)
WHOLE = Number(whole=True)
COUNT = Number(whole=True, low=1)
COUNT_OR_ZERO = Number(whole=True, low=0)
#: a random seed (numpy's and Python's generators take 32-bit seeds everywhere)
SEED = Number(whole=True, low=0, high=2**32 - 1)
#: a relevance level (trec_eval -l): grades >= it count as relevant
REL_LEVEL = Number(whole=True, low=0)
#: seconds (a stage's time per query): bounded, so a plot's log scale (3x the largest) stays
#: finite; no stage takes 11 days a query
SECONDS = Number(low=0, high=1e6)
#: a metric cut-off (nDCG@k): ranx's kernels take a C int; nothing ranks 10^7 documents a query
CUTOFF = Number(whole=True, low=1, high=10**7)


def id_text(value: Any, what: str, fix: str | None = None) -> str:
    """An id as text: strings as they are, whole numbers (ints, integral floats: a pandas
    column with a missing value turns 1 into 1.0) as digits; a fractional, missing (NaN/None)
    or bool id is refused: ``'1.0'`` or ``'nan'`` would name nothing and match no judgment."""
    if isinstance(value, str):
        return value
    fix = fix or f"give every row a {what} (text or a whole number)."
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{what} {value!r} is not an id.", fix=fix)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if not math.isfinite(value):
        raise InputError(f"{what} is missing ({value!r}).", fix=fix)
    if value != int(value):
        raise InputError(f"{what} {value!r} is not a whole number, so not an id.", fix=fix)
    return str(int(value))


__all__ = ["COUNT", "COUNT_OR_ZERO", "CUTOFF", "FINITE", "MAX_DIGITS", "MAX_INT", "NON_NEGATIVE", "POSITIVE",
           "PROBABILITY", "REL_LEVEL", "SECONDS", "SEED", "WHOLE", "Number", "id_text"]
