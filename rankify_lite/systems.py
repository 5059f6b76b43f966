"""A system's identity: its first stage, then the reranking stages on top, each with its depth.

Every place that names a system (run names, tables, plots, file names, expected-score ids)
renders a :class:`SystemId` here, so the ``first>>reranker`` form is built and read in this one
module and nowhere else. A cascade (``bm25 >> cross-encoder on the top 100 >> first on the top
20``) is ``SystemId("bm25", "first", 20, prefix=(("cross-encoder", 100),))``: the last stage is
``reranker`` / ``depth``, the stages before it are ``prefix``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEPARATOR = ">>"
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,()+@-]")


@dataclass(frozen=True, slots=True)
class SystemId:
    """``first_stage`` (a retriever or run name), ``reranker`` (the last stage's name; None for a
    first stage alone), ``depth`` (candidates that stage saw) and ``prefix`` (the reranking
    stages before it, ``(name, depth)`` pairs, first applied first)."""

    first_stage: str
    reranker: str | None = None
    depth: int | None = None
    prefix: tuple[tuple[str, int | None], ...] = ()

    @property
    def is_reranked(self) -> bool:
        return self.reranker is not None

    @property
    def stages(self) -> tuple[tuple[str, int | None], ...]:
        """Every reranking stage, ``(name, depth)``, first applied first."""
        if self.reranker is None:
            return ()
        return (*self.prefix, (self.reranker, self.depth))

    @property
    def rerankers(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.stages)

    @property
    def parent(self) -> SystemId:
        """The system this one's last stage reranked (the first stage, or a shorter chain)."""
        if not self.prefix:
            return SystemId(self.first_stage)
        (*rest, (name, depth)) = self.prefix
        return SystemId(self.first_stage, name, depth, tuple(rest))

    def then(self, reranker: str, depth: int | None) -> SystemId:
        """This system with one more reranking stage on top."""
        return SystemId(self.first_stage, reranker, depth, self.stages)

    @property
    def _parts(self) -> list[str]:
        return [self.first_stage, *self.rerankers]

    @property
    def label(self) -> str:
        """The canonical name, as runs and comparisons carry it: ``bm25``, ``bm25>>first`` or
        ``bm25>>cross-encoder>>first``."""
        return SEPARATOR.join(self._parts)

    def __str__(self) -> str:
        return self.label

    def display(self, fmt: str = "text") -> str:
        """For people: ``bm25 » first`` (text, Markdown), ``bm25 $\\gg$ first`` (LaTeX,
        escaped). A cascade reads ``bm25 » cross-encoder » first``."""
        if fmt == "latex":
            esc = str.maketrans({"_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#"})
            return " $\\gg$ ".join(p.translate(esc) for p in self._parts)
        return " » ".join(self._parts)

    @property
    def filename(self) -> str:
        """A file name stem: ``bm25__first`` (characters a file system reads specially become
        ``_``)."""
        return "__".join(_UNSAFE.sub("_", p) for p in self._parts)

    @property
    def slug(self) -> str:
        """Lower-case, dash-separated: for ids such as expected-score entries."""
        return "-".join(self._parts).lower().replace("+", "p").replace(" ", "-")

    def with_depth(self, depth: int | None) -> SystemId:
        return SystemId(self.first_stage, self.reranker, depth, self.prefix)

    @classmethod
    def from_label(cls, label: str, depth: int | None = None) -> SystemId:
        """Read a canonical name back (for run files saved by name); the prefix stages' depths
        are not in a label (None)."""
        first, *stages = label.split(SEPARATOR)
        if not stages:
            return cls(label)
        return cls(first, stages[-1], depth, tuple((s, None) for s in stages[:-1]))
