"""Output folders: never write over a file the project did not write.

One rule for every folder a command fills (``run --output``, ``rerun --output``,
``PipelineResult.save``, a leaderboard's outputs): the folder is new, empty, or holds an output
of the same kind that this project wrote (recognised by its marker file: a result's
``meta.json``, a leaderboard's ``results.json``); replacing such an output needs
``overwrite`` (``--overwrite``), and even then a file the old output did not write is never
replaced. Commands call :func:`check_output_folder` before they compute anything, and the
writers call it again right before they write (a refused folder loses nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from rankify_lite.errors import InputError
from rankify_lite.io.files import inside

#: reads a folder's marker file: the names of the files that output wrote (marker included),
#: or None when the folder holds no output of this kind
PreviousFiles = Callable[[Path], "frozenset[str] | None"]


def check_output_folder(folder: str | Path, files: Iterable[str], *, previous: PreviousFiles,
                        overwrite: bool, what: str = "saved result") -> frozenset[str]:
    """Refuse ``folder`` unless it may receive ``files`` (see the module docstring); returns
    the files the previous output wrote there (empty for a new or empty folder). Every name
    in ``files`` must lie inside the folder (:func:`rankify_lite.io.files.inside`)."""
    folder = Path(folder)
    names = list(files)
    for name in names:
        inside(folder, name)
    if folder.exists() and not folder.is_dir():
        raise InputError("the output path is a file, not a folder.", path=folder,
                         fix="give a folder (it is created if missing).")
    if not folder.exists() or not any(folder.iterdir()):
        return frozenset()
    old = previous(folder)
    if old is None:
        clash = sorted(n for n in names if (folder / n).exists())
        said = f" (it holds {', '.join(clash[:3])}, which this run would write)" if clash else ""
        raise InputError(f"the output folder is not empty and holds no {what}{said}; files "
                         "rankify-lite did not write are never replaced.", path=folder,
                         fix="choose a new or empty folder.")
    if not overwrite:
        raise InputError(f"the output folder already holds a {what}.", path=folder,
                         fix="choose a new folder, or pass --overwrite (overwrite=True) to "
                             "replace it.")
    foreign = sorted(n for n in names if (folder / n).exists() and n not in old)
    if foreign:
        raise InputError(f"the output folder holds {', '.join(foreign[:3])}, which the "
                         f"{what} there did not write; it is never replaced.", path=folder,
                         fix="move that file away, or choose a new folder.")
    return old
