"""Every input of a leaderboard or an expected-scores check, found before anything is computed.

A missing input is its own state, never a drifted score or a crash halfway: a dataset that is
not on this machine, or a shipped first-stage run that this copy of the dataset lacks (the
bundled SciFact ships no runs), is reported as "not run: data missing" with how to get it.
A run name that the dataset's own folder does not have is a mistake in the file, not missing
data (the dataset lists the runs it has). A model whose weights are neither here nor
downloadable (the hub switched off) is missing too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.errors import DatasetNotFoundError, InputError


@dataclass(frozen=True)
class MissingInput:
    """One input that is not on this machine: ``what`` is "dataset", "run" or "model"."""

    dataset: str
    what: str
    why: str
    fix: str

    def line(self) -> str:
        return f"{self.why} Fix: {self.fix}"


def _split_fix(message: str) -> tuple[str, str]:
    why, _, fix = message.partition(" Fix: ")
    return why.strip(), (fix.strip() or "set RANKIFY_LITE_DATA to a folder holding it.")


class Inputs:
    """Loads each dataset once and says which inputs are missing (see the module doc)."""

    def __init__(self, loader: Callable[[str], Any] | None = None) -> None:
        if loader is None:
            from rankify_lite.datasets import load_dataset as loader
        self._load = loader
        self._datasets: dict[str, Any] = {}

    def dataset(self, name: str) -> Any:
        """The loaded dataset, or a :class:`MissingInput` when it is not on this machine."""
        if name not in self._datasets:
            try:
                self._datasets[name] = self._load(name)
            except DatasetNotFoundError as exc:
                why, fix = _split_fix(str(exc))
                why = why.split(" Did you mean")[0].rstrip(". ")
                self._datasets[name] = MissingInput(
                    name, "dataset", f"{why} (not on this machine).",
                    f"{fix} (docs/concepts/datasets.md says where each set comes from; with "
                    "internet, an ir_datasets id downloads it).")
        return self._datasets[name]

    def missing(self, dataset: str, run: str | None = None, *,
                needs_corpus: bool = False) -> MissingInput | None:
        """What is missing to run ``run`` (a shipped first-stage run name, or None) on
        ``dataset``; None when everything is here. A run name absent from a full dataset
        folder raises (a mistake in the file). ``needs_corpus`` (a retriever indexes it): a
        dataset here as topics and qrels only (``beir-topics-qrels``) is missing its corpus."""
        ds = self.dataset(dataset)
        if isinstance(ds, MissingInput):
            return ds
        if run is None:
            return _missing_corpus(dataset, ds) if needs_corpus else None
        runs = getattr(ds, "runs", None)
        if runs is None:  # a group of datasets: each part is checked when it is run
            return None
        if run in runs:
            return None
        if _is_bundled(ds):
            return MissingInput(
                dataset, "run", f"the bundled copy of {dataset!r} ships no first-stage runs, "
                f"so the run {run!r} is not on this machine.",
                f"set RANKIFY_LITE_DATA to a data folder holding {dataset}/runs/run.{run}.trec "
                "(../shared/data has it).")
        raise InputError(f"dataset {dataset!r} ships no run named {run!r}.",
                         fix=f"use one of: {', '.join(sorted(runs)) or '(none)'}.")

    def missing_model(self, dataset: str, model: str | None) -> MissingInput | None:
        """A model whose weights cannot be had here: the hub is off limits (``HF_HUB_OFFLINE``)
        and neither a local folder nor the Hugging Face cache holds them. With the hub allowed
        a missing model downloads on first use, so it is never reported."""
        from rankify_lite.models.local_weights import hub_offline, weights_here

        if not model or not hub_offline() or weights_here(model) is not None:
            return None
        return MissingInput(
            dataset, "model", f"the weights of {model!r} are not on this machine and the hub "
            "is off limits (HF_HUB_OFFLINE).",
            f"download them once with internet (huggingface-cli download {model}), or set "
            "HF_HOME to a cache holding them (a checkout's scripts/install_offline_models.py "
            "places the weights its tests use).")

    def all_missing(self, wanted: Iterable[tuple[str, str | None]]) -> list[MissingInput]:
        """The missing inputs of every (dataset, run) pair, each reported once."""
        out: list[MissingInput] = []
        for dataset, run in wanted:
            m = self.missing(dataset, run, needs_corpus=run is None)  # None: a retriever
            if m is not None and m not in out:
                out.append(m)
        return out


def load_local(name: str) -> Any:
    """``load_dataset`` on what is on this machine only (a path, a data-directory folder, a
    bundled set): a name only ir_datasets knows is not downloaded but not found."""
    from rankify_lite.datasets import load_dataset
    from rankify_lite.datasets.beir_folder import is_beir_folder
    from rankify_lite.datasets.registry import (
        ALIASES,
        BUNDLED,
        CQADUPSTACK_FORUMS,
        _candidates,
        data_dirs,
    )

    if Path(name).expanduser().exists():
        return load_dataset(name)
    key = name.strip("/")
    forums = ([f"beir/cqadupstack-{f}" for f in CQADUPSTACK_FORUMS]
              if key.removeprefix("beir/") == "cqadupstack" else [key])
    for part in forums:
        if not (ALIASES.get(part, part) in BUNDLED or any(
                is_beir_folder(root / rel) for root in data_dirs() for rel in _candidates(part))):
            raise DatasetNotFoundError(
                f"unknown dataset {part!r}. Fix: this check downloads nothing: set "
                f"RANKIFY_LITE_DATA to a folder holding {part}, or run the entry itself "
                "(without --ci-only) to fetch it through ir_datasets.")
    return load_dataset(name)


def _missing_corpus(dataset: str, ds: Any) -> MissingInput | None:
    """A dataset (or any part of a group) loaded without its corpus, else None."""
    parts = getattr(ds, "parts", None) or (ds,)
    if all(getattr(p, "corpus", True) is not None for p in parts):
        return None
    return MissingInput(
        dataset, "corpus", f"{dataset!r} is here as queries and qrels only: its corpus is not "
        "on this machine, so a retriever cannot index it.",
        f"put a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) at "
        f"$RANKIFY_LITE_DATA/{dataset}, or with internet use the ir_datasets id (public sets "
        "download on first use; the others come from their owners).")


def _is_bundled(ds: Any) -> bool:
    from rankify_lite.datasets.registry import BUNDLED

    source = (getattr(ds, "metadata", None) or {}).get("source")
    return source is not None and any(Path(source) == Path(p) for p in BUNDLED.values())


def refuse_missing(gone: list[MissingInput], what: str) -> None:
    """One line naming every missing input of ``what`` (e.g. "this leaderboard"), or nothing."""
    if not gone:
        return
    fixes = list(dict.fromkeys(m.fix for m in gone))
    raise InputError(f"{len(gone)} input(s) of {what} are not on this machine, so nothing was "
                     f"computed: {' '.join(m.why for m in gone)}", fix=" ".join(fixes))
