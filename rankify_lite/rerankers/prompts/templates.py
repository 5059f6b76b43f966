"""Prompt templates as data: YAML files in ``rerankers/prompts/``, versioned and hashed.

A template is loaded by name (a packaged file) or from a path (a user's own file). Its hash is
the sha256 of the file text, so any edit to a template shows in the run's metadata.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.io.numbers import COUNT

PROMPTS_DIR = Path(__file__).resolve().parent  # the YAML files sit beside this module


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt template: its fields, version and content hash."""

    name: str
    version: int
    fields: dict[str, Any] = field(repr=False)
    sha256: str = ""
    path: str = ""

    def get(self, key: str) -> Any:
        if key not in self.fields:
            raise InputError(f"prompt template {self.name!r} has no field {key!r}.",
                             path=self.path or None,
                             fix=f"add a '{key}:' entry to the template file.")
        return self.fields[key]

    def text(self, key: str, **values: Any) -> str:
        """Field ``key`` with its placeholders filled (values are never re-parsed)."""
        template = str(self.get(key))
        try:
            return template.format(**values)
        except (KeyError, IndexError) as exc:
            raise InputError(f"prompt template {self.name!r}, field {key!r}: unknown placeholder "
                             f"{exc}.", path=self.path or None,
                             fix=f"use only the placeholders {sorted(values)} "
                                 "(write literal braces as {{ and }}).") from exc

    def describe(self) -> dict[str, Any]:
        """What goes into a run's metadata."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


def load_prompt(name_or_path: str | Path, required: tuple[str, ...] = ()) -> PromptTemplate:
    """A packaged template by name (``"rank_zephyr_alpha"``) or a YAML file by path."""
    from rankify_lite.io.yaml_file import load_yaml_file

    path = Path(name_or_path)
    if not path.is_file() and not path.suffix:
        path = PROMPTS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PROMPTS_DIR.glob("*.yaml"))
        raise InputError(f"prompt template {str(name_or_path)!r} not found.",
                         fix=f"use one of {known} or the path of a YAML template file.")
    raw = path.read_bytes().decode("utf-8", errors="replace")
    data = load_yaml_file(path, "prompt template")
    if not isinstance(data, dict):
        raise InputError("this file is not a prompt template (not a YAML mapping).", path=path,
                         fix="write 'name:', 'version:' and the template fields as keys.")
    missing = [k for k in ("name", "version", *required) if k not in data]
    if missing:
        raise InputError(f"prompt template lacks {missing}.", path=path,
                         fix=f"add the keys {missing}.")
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise InputError(f"prompt template name {data['name']!r} is not text.", path=path,
                         fix="name: my_template")
    version = COUNT.check(data["version"], "prompt template version", path=path,
                          fix="version: 1 (a whole number, raised whenever the template "
                              "changes what it asks)")
    return PromptTemplate(name=data["name"], version=version, fields=data,
                          sha256=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
                          path=str(path))
