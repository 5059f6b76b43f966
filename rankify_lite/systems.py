"""A system's identity: its first stage, the reranker on top (if any) and the reranker's depth.

Every place that names a system (run names, tables, plots, file names, expected-score ids)
renders a :class:`SystemId` here, so the ``first>>reranker`` form is built and read in this one
module and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = ">>"


@dataclass(frozen=True, slots=True)
class SystemId:
    """``first_stage`` (a retriever or run name), ``reranker`` (a family key or a leaderboard
    entry name; None for a first stage alone) and ``depth`` (candidates the reranker saw)."""

    first_stage: str
    reranker: str | None = None
    depth: int | None = None

    @property
    def is_reranked(self) -> bool:
        return self.reranker is not None

    @property
    def label(self) -> str:
        """The canonical name, as runs and comparisons carry it: ``bm25`` or ``bm25>>first``."""
        if self.reranker is None:
            return self.first_stage
        return f"{self.first_stage}{SEPARATOR}{self.reranker}"

    def __str__(self) -> str:
        return self.label

    def display(self, fmt: str = "text") -> str:
        """For people: ``bm25 » first`` (text, Markdown), ``bm25 $\\gg$ first`` (LaTeX,
        escaped)."""
        if fmt == "latex":
            esc = str.maketrans({"_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#"})
            parts = [self.first_stage.translate(esc)]
            if self.reranker is not None:
                parts.append(self.reranker.translate(esc))
            return " $\\gg$ ".join(parts)
        return self.label if self.reranker is None else f"{self.first_stage} » {self.reranker}"

    @property
    def filename(self) -> str:
        """A file name stem: ``bm25__first`` (no separators that a file system reads)."""
        parts = [self.first_stage] + ([self.reranker] if self.reranker is not None else [])
        return "__".join(p.replace("/", "_") for p in parts)

    @property
    def slug(self) -> str:
        """Lower-case, dash-separated: for ids such as expected-score entries."""
        parts = [self.first_stage] + ([self.reranker] if self.reranker is not None else [])
        return "-".join(parts).lower().replace("+", "p").replace(" ", "-")

    def with_depth(self, depth: int | None) -> SystemId:
        return SystemId(self.first_stage, self.reranker, depth)

    @classmethod
    def from_label(cls, label: str, depth: int | None = None) -> SystemId:
        """Read a canonical name back (for run files saved by name)."""
        first, sep, reranker = label.rpartition(SEPARATOR)
        if not sep:
            return cls(label)
        return cls(first, reranker, depth)
