"""A system's identity: its first stage, then the reranking stages on top, each with its depth.

Every place that names a system (run names, tables, plots, file names, expected-score ids)
renders a :class:`SystemId` here, so the ``first>>reranker`` form is built and read in this one
module and nowhere else. A cascade (``bm25 >> cross-encoder on the top 100 >> first on the top
20``) is ``SystemId("bm25", "first", 20, prefix=(("cross-encoder", 100),))``: the last stage is
``reranker`` / ``depth``, the stages before it are ``prefix``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

SEPARATOR = ">>"
_UNSAFE = re.compile(r"[^a-z0-9._=,()+@-]")
#: a part of a system that is its own file name: lower case (two names never differ only in
#: case on a case-insensitive file system), safe characters, single underscores between them
#: (``__`` joins the parts, so the parts can be read back), no leading dot (hidden files)
_PLAIN = re.compile(r"[a-z0-9=,()+@-][a-z0-9.=,()+@-]*(?:_[a-z0-9.=,()+@-]+)*")
HASH_MARK = "~"          # never in a plain stem, so a hashed stem never equals a plain one
STEM_MAX = 120           # characters (ASCII) before the hash: far under 255 bytes with suffixes


#: LaTeX's special characters, each written as itself (see :func:`latex_escape`)
_LATEX = str.maketrans({
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%",
    "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}",
    "\n": " ", "\r": " ",   # a line break would end a % comment line and start code
})


def latex_escape(text: str) -> str:
    """The one LaTeX escaper, for every ``.tex`` table (names, labels, comments): each of
    ``\\ { } $ ^ ~ & % # _`` is written as itself, in one pass. A name such as
    ``\\input{/etc/passwd}`` (a name may hold any printable character) is then printed, never
    run; a lone ``$`` no longer breaks the compile."""
    return str(text).translate(_LATEX)


def file_stem(parts: Iterable[str]) -> str:
    """An injective file name stem for a system's parts (first stage, then stages): the parts
    joined by ``__`` when each is plain (see ``_PLAIN``) and the whole fits in
    :data:`STEM_MAX`; otherwise a readable slug (lower case, unsafe characters as ``_``,
    cut to :data:`STEM_MAX`) plus ``~`` and 8 hex digits of the sha256 of the exact parts."""
    parts = list(parts)
    exact = "__".join(parts)
    if len(exact) <= STEM_MAX and all(_PLAIN.fullmatch(p) for p in parts):
        return exact
    readable = "__".join(_UNSAFE.sub("_", p.lower()) for p in parts)[:STEM_MAX].lstrip(".")
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()
    return f"{readable}{HASH_MARK}{digest[:8]}"


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
        escaped). A cascade reads ``bm25 » cross-encoder » first``. The one spelling every
        table, time line, report and plot shows; :attr:`label` (``>>``) is what data and
        commands carry, :attr:`filename` what files are named."""
        parts = [p.strip() for p in self._parts]  # "BM25 >> MiniLM" reads "BM25 » MiniLM"
        if fmt == "latex":
            return " $\\gg$ ".join(latex_escape(p) for p in parts)
        return " » ".join(parts)

    @property
    def filename(self) -> str:
        """A file name stem, one per system (see :func:`file_stem`): ``bm25__first``, or
        ``bm25__x_y~1a2b3c4d`` for a stage named ``x/y``. Readers of a saved result use the
        file name its meta.json records, never this property."""
        return file_stem(self._parts)

    @property
    def slug(self) -> str:
        """Lower-case, dash-separated: for ids such as expected-score entries (see
        :func:`slug`; not injective: :func:`unique_ids` makes ids of slugs)."""
        return slug(*self._parts)

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


def slug(*parts: str) -> str:
    """Readable text for an id: the parts lower-cased, joined by ``-``, ``+`` as ``p`` and
    spaces as ``-`` (``bm25-monopt5``). Two names can share one slug (``ce+`` / ``cep``,
    ``CE`` / ``ce``, ``a-b>>c`` / ``a>>b-c``): :func:`unique_ids` tells them apart."""
    return "-".join(parts).lower().replace("+", "p").replace(" ", "-")


def unique_ids(keys: Iterable[tuple[str, ...]], exact: Iterable[object] | None = None
               ) -> list[str]:
    """One id per key (a tuple of names): its :func:`slug`, plus ``~`` and 8 hex digits of the
    sha256 of the exact key (``exact``, default the key itself; distinct per key) wherever
    two keys share a slug. Every id is then distinct (a written expected.yaml always reads
    back) and an id that collides with nothing stays as readable as it was."""
    keys = list(keys)
    exact = list(exact) if exact is not None else keys
    slugs = [slug(*k) for k in keys]
    count: dict[str, int] = {}
    for text in slugs:
        count[text] = count.get(text, 0) + 1
    out = []
    for key, text in zip(exact, slugs, strict=True):
        if count[text] > 1:
            digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8"))
            text = f"{text}{HASH_MARK}{digest.hexdigest()[:8]}"
        out.append(text)
    return out


def file_names(systems: Iterable[SystemId], suffix: str = ".trec") -> dict[str, str]:
    """``{label: file name}`` for the systems one folder holds, refusing two different systems
    that map to one file (compared case-insensitively, as macOS and Windows compare names): a
    pipeline calls this before it computes anything."""
    from rankify_lite.errors import InputError

    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    for system in systems:
        name = system.filename + suffix
        other = owner.setdefault(name.casefold(), system.label)
        if other != system.label:
            raise InputError(f"systems {other!r} and {system.label!r} would be saved to one "
                             f"file, {name!r}.", fix="rename one of their stages "
                             "(name=... / reranker.named('...')).")
        out[system.label] = name
    return out
