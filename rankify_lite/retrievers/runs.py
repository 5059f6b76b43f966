"""Precomputed first stages as ordinary components: a run shipped with the dataset, a Run object,
or a TREC run file.

They share the first-stage interface of :class:`~rankify_lite.retrievers.base.Retriever`
(``name``, ``config()``, ``spec()``, ``first_stage(dataset, k)``), so the pipeline treats every
first stage alike. ``config()`` keys the pipeline's caches: a given run and a file with the same
content share one key, so rerunning a saved result from its first-stage file is a cache hit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from rankify_lite.errors import InputError
from rankify_lite.file_policy import FileOptions
from rankify_lite.spec import Recorded
from rankify_lite.stage_stats import FirstStageTiming
from rankify_lite.types import Run

SHIPPED_PREFIX = "run:"


class RunStage(Recorded, ABC):
    """A first stage whose run already exists (nothing is indexed or retrieved)."""

    spec_kind: ClassVar[str] = "first-stage"
    family: ClassVar[str] = ""
    name: str

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """What identifies the run's content (keys the caches)."""

    @abstractmethod
    def load(self, dataset: Any) -> Run:
        """The run, before it is cut to the dataset's queries and ``k``."""

    def first_stage(self, dataset: Any, k: int, executor: Any = None
                    ) -> tuple[Run, FirstStageTiming]:
        """(run, timing): a precomputed run costs nothing to retrieve here."""
        return self.load(dataset), FirstStageTiming()


def _first_stage_name(name: Any, what: str, example: str, path: Path | None = None) -> str:
    """A first stage's name, checked where it is declared as every stage name is."""
    from rankify_lite.names import check_name

    return check_name(name, what, path=path, example=example)


class ShippedRun(RunStage):
    """A run shipped with the dataset: ``ShippedRun("bm25.top100")`` (``"run:bm25.top100"``)."""

    family = "shipped-run"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("name",))

    def __init__(self, name: str) -> None:
        if not name:
            raise InputError("a shipped run needs a name.", fix="e.g. 'run:bm25.top100'.")
        self.name = _first_stage_name(name, "the shipped run's name", "'run:bm25.top100'")

    def config(self) -> dict[str, Any]:
        return {"family": "shipped-run", "name": self.name}

    def load(self, dataset: Any) -> Run:
        return dataset.load_run(self.name)


class GivenRun(RunStage):
    """A Run object passed in Python. Its spec can't hold the run itself; ``rerun`` of a saved
    result uses the first-stage run file saved beside ``meta.json`` instead (see RunFile)."""

    family = "given-run"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(python=("run",))

    def __init__(self, run: Run) -> None:
        self.run = run
        self.name = _first_stage_name(run.name, "the given run's name (its stage name)",
                                      "run.replace(name='bm25')")

    def config(self) -> dict[str, Any]:
        return {"family": "given-run", "name": self.run.name,
                "content_hash": self.run.content_hash()}

    def load(self, dataset: Any) -> Run:
        return self.run


class RunFile(RunStage):
    """A TREC run file as a first stage. ``name`` defaults to the file's stem."""

    family = "run-file"

    #: what a shared file may set (rankify_lite.file_policy)
    file_options = FileOptions(data=("path", "name"))

    def __init__(self, path: str | Path, name: str | None = None) -> None:
        self.path = Path(path)
        from rankify_lite.io.files import check_readable

        check_readable(self.path, "run file")
        self.name = _first_stage_name(name or self.path.stem, "the run file's name" if name
                                      else "the run file's stem (its stage name)",
                                      "RunFile(path, name='bm25')", self.path)
        self._run: Run | None = None

    def _read(self) -> Run:
        if self._run is None:
            from rankify_lite.io.trec import read_run

            self._run = read_run(self.path, name=self.name)
        return self._run

    def config(self) -> dict[str, Any]:
        # the same record as a GivenRun of the same content: both key the same cached stages
        return {"family": "given-run", "name": self.name, "content_hash": self._read().content_hash()}

    def load(self, dataset: Any) -> Run:
        return self._read()


def as_first_stage(value: Any) -> Any:
    """The one place a pipeline's first stage is type-checked: a Retriever or a RunStage is
    used as is, a Run becomes a GivenRun and ``"run:NAME"`` a ShippedRun."""
    from rankify_lite.retrievers.base import Retriever

    if isinstance(value, (Retriever, RunStage)):
        return value
    if isinstance(value, Run):
        return GivenRun(value)
    if isinstance(value, str) and value.startswith(SHIPPED_PREFIX):
        return ShippedRun(value[len(SHIPPED_PREFIX):])
    raise InputError(f"first stage {value!r} is not a retriever or a run.",
                     fix="pass BM25(), Dense(), ..., a Run, RunFile(path) or 'run:NAME' for a "
                         "run shipped with the dataset.")
