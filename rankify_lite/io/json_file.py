"""The one reader of a JSON object file a folder holds (a saved result's ``meta.json``, a
leaderboard's ``results.json``).

A missing file, bad bytes, invalid JSON, an integer past Python's 4 300-digit limit (a bare
``ValueError`` from :func:`json.loads`), nesting too deep to parse (``RecursionError``) or a
document that is not an object: each is one :class:`~rankify_lite.errors.InputError` naming the
file (and the line where JSON says it), never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError


def load_json_object(path: str | Path, what: str, fix: str) -> dict[str, Any]:
    """The JSON object in ``path``; ``what`` names it in a refusal, ``fix`` says what to do."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} not found.", path=path, fix=fix) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what} ({exc}).", path=path, fix=fix) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON ({exc.msg}).", path=path,
                         line=exc.lineno, fix=fix) from None
    except (ValueError, RecursionError) as exc:  # a 5 000-digit number, [[[[...]]]] nesting
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputError(f"{what} is not valid JSON ({problem}).", path=path,
                         fix=fix) from None
    if not isinstance(data, dict):
        raise InputError(f"{what} is not a JSON object.", path=path, fix=fix)
    return data


__all__ = ["load_json_object"]
