"""Reading YAML files with errors that name the file and line, never echo its content."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import MAX_DIGITS


class _AliasRefused(Exception):
    def __init__(self, anchor: str, line: int) -> None:
        self.anchor, self.line = anchor, line


def _loader() -> type:
    """yaml.SafeLoader that refuses aliases: no ``!!python/...`` tags (safe) and no nested
    alias expansion ("billion laughs"), so a document costs memory linear in its size."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise _AliasRefused(str(event.anchor), event.start_mark.line + 1)
            return super().compose_node(parent, index)

    _plain_numbers(NoAliasLoader)
    return NoAliasLoader


#: YAML 1.1 reads 1_0 as 10, 0x10 as 16, 0o7 as 7, 1:30 (sexagesimal) as 90 and 1e3 as text;
#: numbers are plain ASCII decimals (rankify_lite.io.numbers), so only those resolve as numbers
#: (and YAML's .nan / .inf, which the number rule then refuses by name); the rest stays text.
_INT = r"^[-+]?[0-9]+$"   # decimal: 012 is 12 (YAML 1.1 read it as octal 10)
_FLOAT = (r"^(?:[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
          r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


def _plain_numbers(loader: type) -> None:
    numeric = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    loader.yaml_implicit_resolvers = {  # type: ignore[attr-defined]
        first: [(tag, rx) for tag, rx in resolvers if tag not in numeric]
        for first, resolvers in loader.yaml_implicit_resolvers.items()}  # type: ignore[attr-defined]
    loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(_INT),  # type: ignore[attr-defined]
                                 list("-+0123456789"))
    loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(_FLOAT),  # type: ignore[attr-defined]
                                 list("-+0123456789."))
    loader.add_constructor("tag:yaml.org,2002:int", _decimal)  # type: ignore[attr-defined]


def _decimal(loader: Any, node: Any) -> int:
    import yaml

    text = loader.construct_scalar(node)
    if not re.fullmatch(_INT, text):  # an explicit !!int 0x10, 1_0, ...
        raise yaml.constructor.ConstructorError(None, None, f"{text!r} is not a decimal "
                                                "integer", node.start_mark)
    if len(text) > MAX_DIGITS:  # int() stops at 4 300 digits with a bare ValueError
        raise yaml.constructor.ConstructorError(None, None, f"a {len(text)}-digit integer is "
                                                "out of range", node.start_mark)
    return int(text)


def load_yaml_file(path: str | Path, what: str = "YAML file") -> Any:
    """``yaml.safe_load`` of ``path`` (aliases refused); a missing file, a folder, bad bytes or
    bad YAML raise an :class:`InputError` ``path:line: problem. Fix: ...`` (the offending line
    is not echoed)."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} does not exist.", path=path, fix="check the path.")
    if not path.is_file():
        raise InputError(f"{what} is a folder, not a file.", path=path,
                         fix="point at the YAML file itself.")
    try:
        raw = path.read_bytes().decode("utf-8-sig")  # a BOM is skipped
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise InputError(f"{what} is not UTF-8 text (byte {exc.start}).", path=path, line=line,
                         fix="save the file as UTF-8.") from None
    try:
        return yaml.load(raw, Loader=_loader())  # noqa: S506 - a SafeLoader without aliases
    except _AliasRefused as exc:
        raise InputError(f"{what} uses a YAML alias (*{exc.anchor}); aliases are refused (a "
                         "shared file could expand them into a document too big for memory).",
                         path=path, line=exc.line, fix="write the value out in full where the "
                         "alias stands.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InputError(f"invalid YAML in {what}: {problem}.", path=path,
                         line=(mark.line + 1) if mark is not None else None,
                         fix="check the indentation and quoting near that line.") from None
