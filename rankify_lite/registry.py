"""One registry type for every table of named things imported on first use: reranker families
(rerankers/registry.py), first stages (retrievers/registry.py) and LLM engines
(rerankers/engines/__init__.py).

A :class:`Registry` holds entries keyed by an explicit name, each naming a ``"module:Class"``
target that is imported only when it is used (:meth:`Registry.load`). An unknown name is refused
in one line that proposes close names (never the one typed) and lists them all. Tables that
other code reads (``ENGINE_CLASSES``, ``RETRIEVERS``, ...) are :class:`View`\\ s computed from a
registry on each use, so there is no second copy to keep in step by hand.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from rankify_lite.errors import InputError

E = TypeVar("E")


def import_target(target: str) -> Any:
    """``"package.module:Name"`` -> that object (its module imported now)."""
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def did_you_mean(name: str, names: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``names`` close to ``name``, never ``name`` itself."""
    return [c for c in difflib.get_close_matches(name, [m for m in names if m != name], n=n)]


def _target_attr(entry: Any) -> str:
    return entry if isinstance(entry, str) else entry.target


class Registry(Mapping[str, E], Generic[E]):
    """Entries by name (a read-only mapping; :meth:`register` adds). ``what`` names an entry in
    messages ("reranker family"); ``target`` reads an entry's ``"module:Class"`` (default: the
    entry itself when it is a string, else its ``target``); ``sort``: list names sorted in a
    refusal (else in registration order); ``listing``: said after the list in a refusal."""

    def __init__(self, what: str, *, target: Callable[[E], str] = _target_attr, sort: bool = False,
                 listing: str = "") -> None:
        self.what = what
        self._target = target
        self._sort = sort
        self._listing = listing
        self._entries: dict[str, E] = {}

    def register(self, name: str, entry: E) -> E:
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def pop(self, name: str, default: E | None = None) -> E | None:
        """Remove ``name`` (tests that register a family for a while take it out again)."""
        return self._entries.pop(name, default)

    def copy(self) -> Registry[E]:
        """A registry with the same entries (and settings) that registers on its own."""
        other: Registry[E] = Registry(self.what, target=self._target, sort=self._sort,
                                      listing=self._listing)
        other._entries = dict(self._entries)
        return other

    def names(self) -> list[str]:
        return sorted(self._entries) if self._sort else list(self._entries)

    def __getitem__(self, name: str) -> E:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def refusal(self, name: str) -> InputError:
        """The one-line refusal of an unknown ``name``: close names, then every name."""
        close = did_you_mean(name, self._entries)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        return InputError(f"unknown {self.what} {name!r}.{hint}",
                          fix=f"use one of: {', '.join(self.names())}{self._listing}.")

    def lookup(self, name: str) -> E:
        """The entry of ``name``; an unknown name is refused (:meth:`refusal`)."""
        if name not in self._entries:
            raise self.refusal(name)
        return self._entries[name]

    def target(self, name: str) -> str:
        return self._target(self.lookup(name))

    def load(self, name: str) -> Any:
        """The object ``name``'s target names, imported now (Python keeps its module)."""
        return import_target(self.target(name))


class View(Mapping):
    """A read-only table computed from a registry on each use: no second copy to keep in step
    by hand."""

    def __init__(self, rows: Callable[[], dict[str, Any]]) -> None:
        self._rows = rows

    def __getitem__(self, key: str) -> Any:
        return self._rows()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows())

    def __len__(self) -> int:
        return len(self._rows())

    def __repr__(self) -> str:
        return repr(self._rows())
