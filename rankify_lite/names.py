"""Names people declare: stage names, first-stage names, system names, a leaderboard's name.

One rule, checked where each name is declared (``Reranker.named`` / ``load_reranker(name=)``,
``--reranker "... name=N"``, a leaderboard YAML's entries and its ``name``, a first-stage run's
name, a saved result's recorded names): text of printable characters, at most
:data:`MAX_NAME` of them, without ``>>`` (it joins the stages of a system label). A name that
becomes a folder (a leaderboard's ``name``) also has no path separator and is not ``.`` or
``..``. File names are derived from names injectively elsewhere (:mod:`rankify_lite.systems`);
this module only says which names may be declared at all.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError

#: the longest name a stage, first stage, system or leaderboard may be declared with
MAX_NAME = 100
STAGE_SEPARATOR = ">>"
_PATH_SEPARATORS = ("/", "\\")


def _bad_character(name: str) -> str | None:
    """The first character a name may not hold (control, format, line or private-use
    characters, spaces other than ' '), described; None when every character is printable."""
    for i, ch in enumerate(name):
        if not ch.isprintable():
            what = unicodedata.name(ch, f"U+{ord(ch):04X}")
            return f"character {i + 1} is {what} ({ch!r}), which is not printable"
    return None


def check_name(name: Any, what: str, *, path: str | Path | None = None,
               folder: bool = False, example: str = "name: bm25-ce") -> str:
    """``name`` without surrounding spaces when it is a valid declared name; otherwise an
    InputError naming ``what`` (the field), ``path`` (the file it came from) and the fix.
    ``folder``: the name becomes a folder, so path separators, ``.`` and ``..`` are refused."""
    fix = f"use up to {MAX_NAME} printable characters without '>>'"
    if folder:
        fix += ", '/' or '\\'"
    fix += f", e.g. {example}"
    if not isinstance(name, str):
        raise InputError(f"{what} must be text, got {type(name).__name__} {str(name)[:60]!r}.",
                         path=path, fix=fix)
    text = name.strip()
    problem = None
    if not text:
        problem = "is empty"
    elif len(text) > MAX_NAME:
        problem = f"is {len(text)} characters long (at most {MAX_NAME})"
    elif (bad := _bad_character(text)) is not None:
        problem = bad
    elif STAGE_SEPARATOR in text:
        problem = f"holds {STAGE_SEPARATOR!r}, which separates the stages of a system"
    elif folder and any(sep in text for sep in _PATH_SEPARATORS):
        problem = "holds a path separator, but it names a folder beside the config"
    elif folder and text in (".", ".."):
        problem = "names the current or the parent folder"
    if problem is not None:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise InputError(f"{what} {shown!r} {problem}.", path=path, fix=fix)
    return text


def check_label(label: Any, what: str, *, path: str | Path | None = None) -> str:
    """A system label read from a file (stage names joined by ``>>``, e.g. a saved result's
    ``files`` key): each stage name by :func:`check_name`; the label as it is, or an
    InputError naming ``what`` and ``path``."""
    if not isinstance(label, str):
        return check_name(label, what, path=path)
    for part in label.split(STAGE_SEPARATOR):
        check_name(part, f"{what} {label[:40]!r}: the stage name", path=path,
                   example="bm25>>ce-l12")
    return label
