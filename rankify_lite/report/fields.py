"""Every field the report reads from a folder, checked where it is read: its type, a finite
number in the field's range (:mod:`rankify_lite.io.numbers`), a known name (metric names that
parse, significance tests and corrections we run, systems the folder holds). A bad field is one
:class:`~rankify_lite.errors.InputError` naming the file and the field's path, e.g.
``results.json: datasets['dl19'].significance.alpha must be a number in (0, 1), got str
'<img ...>'.``

A field absent where the file may omit it takes its default; present, it must be valid (a
``null`` counts as absent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import FINITE, Number

_MISSING = object()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Fields:
    """The checks of one file (``path``); ``fix`` is the advice every refusal gives."""

    path: Path
    fix: str = "restore the value rankify-lite wrote (or write the folder again)."

    def refuse(self, field: str, problem: str) -> InputError:
        return InputError(f"{field} {problem}", path=self.path, fix=self.fix)

    def object(self, data: Any, field: str, default: Any = _MISSING) -> dict[str, Any]:
        """A JSON object (keys are always text in JSON)."""
        if data is None and default is not _MISSING:
            return default
        if not isinstance(data, dict):
            raise self.refuse(field, f"must be an object, not {type(data).__name__} "
                                     f"{_show(data)}.")
        return data

    def text(self, data: Any, field: str, default: Any = _MISSING) -> str:
        if data is None and default is not _MISSING:
            return default
        if not isinstance(data, str):
            raise self.refuse(field, f"must be text, not {type(data).__name__} {_show(data)}.")
        return data

    def texts(self, data: Any, field: str, default: Any = _MISSING) -> list[str]:
        if data is None and default is not _MISSING:
            return default
        if not isinstance(data, list):
            raise self.refuse(field, f"must be a list of text, not {type(data).__name__} "
                                     f"{_show(data)}.")
        return [self.text(x, f"{field}[{i}]") for i, x in enumerate(data)]

    def number(self, data: Any, field: str, rule: Number = FINITE,
               default: Any = _MISSING) -> Any:
        """A number by ``rule`` (finite; a probability, a count, ...)."""
        if data is None and default is not _MISSING:
            return default
        return rule.check(data, field, path=self.path, fix=self.fix)

    def choice(self, data: Any, field: str, allowed: Iterable[str],
               default: Any = _MISSING) -> str:
        """One of ``allowed`` (a test, a correction, a baseline among the systems)."""
        allowed = list(allowed)
        value = self.text(data, field, default)
        if value not in allowed:
            shown = ", ".join(repr(a) for a in allowed[:8]) + (", ..." if len(allowed) > 8 else "")
            raise self.refuse(field, f"must be one of {shown}, not {_show(value)}.")
        return value

    def metric(self, data: Any, field: str) -> str:
        """A metric name we evaluate, in its canonical form."""
        from rankify_lite.evaluation import parse_metric

        try:
            return parse_metric(self.text(data, field)).name
        except InputError as exc:
            if exc.path == str(self.path):
                raise
            raise self.refuse(field, f"is not a metric we evaluate ({exc.problem.rstrip('.')})."
                              ) from None

    def metrics(self, data: Any, field: str) -> list[str]:
        if not isinstance(data, list) or not data:
            raise self.refuse(field, f"must be a non-empty list of metric names, not "
                                     f"{_show(data)}.")
        return [self.metric(m, f"{field}[{i}]") for i, m in enumerate(data)]


__all__ = ["Fields"]
