"""One saved spec per component: what a retriever, a first-stage run or a reranker was built from.

A :class:`ComponentSpec` is the family plus the exact constructor options, validated against the
class signature. It is what ``meta.json`` records and what ``rankify-lite rerun`` rebuilds from;
``config()`` stays the provenance record (the spec's values plus what was resolved: model
revision, prompt hash, index settings), and keys the caches.

This module is a leaf (it imports no registry): :func:`rankify_lite.builders.build` turns a
spec back into its component. Components record their spec by construction
(:class:`Recorded`): nothing a family writes can drift from what it was called with. Options
that are themselves components (the retrievers of a fusion) are saved as nested specs; options
that are live objects (a ready model, a Run) can't be saved, and the spec says so (``why``), so
``rerun`` refuses with that reason instead of guessing.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from types import MappingProxyType
from typing import Any, ClassVar

from rankify_lite.errors import InputError

KINDS = ("retriever", "first-stage", "reranker")
NESTED = "$spec"  # the key of a nested spec (a fusion's retrievers)


def _freeze(value: Any) -> Any:
    """A JSON round trip: the saved form, detached from the caller's objects."""
    return json.loads(json.dumps(value))


@dataclass(frozen=True, eq=True)
class ComponentSpec:
    """``kind`` (retriever | first-stage | reranker), ``family`` (registry key) and ``options``
    (constructor keyword arguments, JSON values). ``why`` is set when the component was built
    from something that can't be saved; the spec then can't rebuild it."""

    kind: str
    family: str
    options: Mapping[str, Any] = field(default_factory=dict)
    why: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"component kind {self.kind!r} is unknown.",
                             fix=f"use one of {', '.join(KINDS)}.")
        try:
            frozen = _freeze(dict(self.options))
        except (TypeError, ValueError) as exc:
            raise InputError(f"the options of {self.kind} {self.family!r} are not plain data "
                             f"({exc}).", fix="give ids, paths as text, numbers, strings, lists "
                             "and dicts; build components from live objects in Python.") from None
        object.__setattr__(self, "options", MappingProxyType(frozen))

    @property
    def rebuildable(self) -> bool:
        return self.why is None

    def as_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "family": self.family, "options": _freeze(dict(self.options)),
               "rebuildable": self.rebuildable}
        if self.why is not None:
            out["why"] = self.why
        return out

    @classmethod
    def from_dict(cls, data: Any, kind: str | None = None) -> ComponentSpec:
        """The spec saved by :meth:`as_dict` (``kind`` fills in specs saved without one)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("family"), str):
            raise InputError(f"not a component spec: {str(data)[:80]!r}.",
                             fix="pass the 'spec' recorded in meta.json by rankify-lite.")
        options = data.get("options")
        why = data.get("why")
        if data.get("rebuildable") is False or not isinstance(options, Mapping):
            why = str(why or "no saved options")
            options = {}
        return cls(str(data.get("kind") or kind or "reranker"), data["family"], options,
                   why if why is not None else None)


def _saved(value: Any) -> tuple[Any, bool]:
    """(saved form, ok): paths as text, components as nested specs; ok False for live objects."""
    if isinstance(value, Recorded):
        spec = value.spec()
        return {NESTED: spec.as_dict()}, spec.rebuildable
    if isinstance(value, PurePath):
        return str(value), True
    if isinstance(value, (list, tuple)):
        items = [_saved(v) for v in value]
        return [v for v, _ in items], all(ok for _, ok in items)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return None, False
    return value, True


def with_legacy_defaults(cls: type, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` plus what a spec of ``cls`` written before an option's default changed
    meant by leaving it out (``cls.legacy_spec_defaults``; e.g. ``backend="torch"`` from
    before ``"auto"``): an old result reruns on the path it ran."""
    return {**getattr(cls, "legacy_spec_defaults", {}), **options}


def signature_options(cls: type) -> tuple[str, ...]:
    """The keyword options ``cls(...)`` accepts, from its signature (the registry lists these:
    there is no second copy to drift)."""
    params = inspect.signature(cls.__init__).parameters
    return tuple(n for n, p in params.items() if n != "self"
                 and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


def check_options(cls: type, options: Mapping[str, Any], what: str,
                  extra: tuple[str, ...] = (), *, values: bool = True) -> None:
    """An InputError naming the unknown options (with close matches), or an option whose
    value its declared type cannot take (:func:`check_option_values`), before anything loads."""
    params = inspect.signature(cls.__init__).parameters
    if values:
        check_option_values(params, options, what)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()) and not extra:
        return
    known = set(signature_options(cls)) | set(extra)
    unknown = sorted(set(options) - known)
    if unknown:
        import difflib

        hints = [f"{u!r} (did you mean {', '.join(repr(c) for c in close)}?)"
                 if (close := difflib.get_close_matches(u, sorted(known), n=2)) else repr(u)
                 for u in unknown]
        raise InputError(f"{what} has no option {', '.join(hints)}.",
                         fix=f"its options are: {', '.join(sorted(known))}.")


_SIMPLE = {"int", "float", "bool", "str", "None"}


def _atoms(annotation: Any) -> set[str] | None:
    """``int | None`` -> {'int', 'None'}; None when the annotation holds anything but int,
    float, bool, str and None (then the family checks the value itself)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    text = text.removeprefix("Optional[").removesuffix("]") + (
        " | None" if text.startswith("Optional[") else "")
    atoms = {a.strip() for a in text.split("|")}
    return atoms if atoms <= _SIMPLE and atoms else None


def check_option_values(params: Mapping[str, inspect.Parameter], options: Mapping[str, Any],
                        what: str) -> None:
    """Each option's value against its declared type, from the signature (one place for every
    family, retriever and first stage, whichever route the value came by: Python, ``--reranker
    "family k=v"``, a leaderboard YAML, a meta.json): a bool for ``bool``, text for ``str``, a
    finite number for ``float``, a whole number (not a bool) for ``int``, both within
    :data:`~rankify_lite.io.numbers.MAX_INT`; a number is negative only where its default is.
    Options typed otherwise are the family's to check. ``values=False`` (check_options): names
    only."""
    import numbers
    import os

    from rankify_lite.io.numbers import MAX_INT, Number

    for name, value in options.items():
        param = params.get(name)
        atoms = _atoms(param.annotation) if param is not None else None
        if atoms is None or (value is None and "None" in atoms):
            continue
        default = param.default
        negative = (isinstance(default, (int, float)) and not isinstance(default, bool)
                    and default < 0)
        field = f"{what}: option {name}"
        example = (f"e.g. {name}={default!r}" if default is not param.empty
                   and default is not None else f"see the family's options for {name}")
        if "bool" in atoms and isinstance(value, bool):
            continue
        if "str" in atoms and isinstance(value, (str, os.PathLike)):  # a Path for a path
            continue
        if ("int" in atoms and isinstance(value, numbers.Integral)
                and not isinstance(value, bool)):
            Number(whole=True, low=None if negative else 0).check(value, field,
                                                                 fix=example + ".")
            continue
        if ("float" in atoms and isinstance(value, numbers.Real)
                and not isinstance(value, bool)):
            Number(low=None if negative else 0, high=MAX_INT).check(value, field,
                                                                    fix=example + ".")
            continue
        kinds = {"int": "a whole number", "float": "a number", "bool": "true/false",
                 "str": "text", "None": "none"}
        wanted = " or ".join(kinds[a] for a in sorted(atoms, key=list(kinds).index))
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise InputError(f"{field} must be {wanted}, not {type(value).__name__} {shown}.",
                         fix=example + ".")


class Recorded:
    """Mixin: records the constructor call, so :meth:`spec` returns exactly what the component
    was built with (``spec_kind`` and ``family`` name it)."""

    spec_kind: ClassVar[str] = ""
    _spec_options: dict[str, Any] | None
    _spec_why: str | None

    def __new__(cls, *args: Any, **kwargs: Any):
        obj = super().__new__(cls)
        obj._spec_options, obj._spec_why = None, "constructed in a way that could not be recorded"
        try:
            sig = inspect.signature(cls.__init__)
            bound = sig.bind(obj, *args, **kwargs)
        except (TypeError, ValueError):
            return obj  # unpickling calls __new__ without arguments; __dict__ is restored after
        options: dict[str, Any] = {}
        live: list[str] = []
        for name, value in list(bound.arguments.items())[1:]:
            kind = sig.parameters[name].kind
            pairs = (value.items() if kind is inspect.Parameter.VAR_KEYWORD
                     else [(f"*{name}", list(value))] if kind is inspect.Parameter.VAR_POSITIONAL
                     else [(name, value)])
            for key, val in pairs:
                saved, ok = _saved(val)
                if not ok or key.startswith("*"):
                    live.append(key)
                options[key] = saved
        obj._spec_options = options
        obj._spec_why = f"built from live objects ({', '.join(sorted(live))})" if live else None
        return obj

    def spec_family(self) -> str:
        return str(getattr(self, "family", "") or type(self).__name__.lower())

    def spec(self) -> ComponentSpec:
        """The saved spec ``rerun`` rebuilds this component from."""
        why = getattr(self, "_spec_why", "constructed in a way that could not be recorded")
        options = getattr(self, "_spec_options", None) or {}
        if why is not None:
            return ComponentSpec(self.spec_kind, self.spec_family(), {}, why)
        return ComponentSpec(self.spec_kind, self.spec_family(), options)
