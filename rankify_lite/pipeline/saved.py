"""The one reader of saved results (``rankify-lite run --output``, ``PipelineResult.save``).

A saved result is a folder: ``meta.json`` plus one TREC file per system, named in
``meta.json["files"]``, with the sha256 of each file as saved in ``meta.json["file_sha256"]``.
:func:`open_saved` reads ``meta.json`` (a JSON object, or one line naming the file), keeps each
run file inside the folder (no absolute path, no ``..``, no symlink out) and checks each file
present against its recorded sha256. A changed file is refused in one line (the file, the
recorded and the actual hash prefix, the fix); with ``allow_changed`` it is read anyway and
:attr:`SavedResult.changed` says which, for the reader to show (``report --allow-changed`` marks
each in the page; ``rerun --allow-changed-data`` records each in its new metadata).

Results saved before hashes were recorded (no ``file_sha256`` at all) cannot be checked:
:attr:`SavedResult.verified` is False and readers say so. A ``file_sha256`` that lacks a listed
file counts as changed (its record was removed).

Used by ``report`` (every run file), ``rerun`` and ``pipeline_from_meta`` (the first-stage copy
they rebuild from; the Python route a PyTerrier user takes);
``compare`` and the interop layers read TREC files and frames, not saved folders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.names import check_label
from rankify_lite.systems import SystemId
from rankify_lite.types import Run

META = "meta.json"
HASH_PREFIX = 12


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def saved_file_hashes(folder: Path, files: Mapping[str, str]) -> dict[str, str]:
    """sha256 of each run file saved in ``folder`` (what :func:`open_saved` checks)."""
    return {name: file_sha256(folder / fname) for name, fname in files.items()}


def confined(folder: Path, fname: Any, what: str, source: str | None) -> Path:
    """``folder / fname`` resolved, when ``fname`` is a name that :func:`io.files.inside
    <rankify_lite.io.files.inside>` keeps inside ``folder`` (the one rule); otherwise an
    InputError naming ``what`` in ``source``."""
    from rankify_lite.io.files import inside

    fix = "restore the 'files' entry written by rankify-lite (a plain file name in the folder)."
    if not isinstance(fname, str) or not fname:
        raise InputError(f"{what}: the file name {fname!r} is not a name.", path=source, fix=fix)
    try:
        return inside(folder, fname, f"{what}: the file name").resolve()
    except InputError as exc:
        raise InputError(f"{exc.problem} A saved result reads no file outside the result "
                         "folder.", path=source, fix=fix) from None


@dataclass(frozen=True)
class SavedFile:
    """One run file of a saved result: where it is, what sha256 was recorded and what it is now
    (``actual`` None: the file is missing)."""

    system: str
    name: str
    path: Path
    recorded: str | None
    actual: str | None

    @property
    def changed(self) -> bool:
        return self.actual is not None and self.recorded != self.actual

    @property
    def what(self) -> str:
        """How a message names it: the first-stage run, or the run of a reranked system."""
        first = not SystemId.from_label(self.system).is_reranked
        return (f"the first-stage run {self.system!r} ({self.name})" if first
                else f"the run file {self.name} of system {self.system!r}")

    def why(self) -> str:
        """Why it counts as changed, with both hash prefixes."""
        recorded = self.recorded[:HASH_PREFIX] if self.recorded else "none"
        return (f"it was changed after it was saved: sha256 {recorded} recorded, "
                f"{(self.actual or '')[:HASH_PREFIX]} now")


@dataclass(frozen=True)
class SavedResult:
    """A saved result folder, its ``meta.json`` and its run files (checked by
    :func:`open_saved`)."""

    folder: Path
    meta_path: Path
    meta: Mapping[str, Any]
    files: tuple[SavedFile, ...]
    verified: bool                       # False: meta.json records no sha256 at all

    @property
    def changed(self) -> tuple[SavedFile, ...]:
        """The run files that differ from what was saved (only with ``allow_changed``)."""
        return tuple(f for f in self.files if f.changed)

    def file(self, system: str) -> SavedFile | None:
        return next((f for f in self.files if f.system == system), None)

    def read_run(self, system: str) -> Run:
        """The run of ``system`` from its file; a missing file is one line naming it."""
        from rankify_lite.io.trec import read_run

        f = self.file(system)
        if f is None or f.actual is None:
            name = f.name if f is not None else None
            raise InputError(f"files[{system!r}]: the run file {name!r} is not in the result "
                             "folder.", path=self.meta_path,
                             fix="keep the run files beside meta.json (copy the whole folder).")
        return read_run(f.path, name=system)


def _read_meta(path: Path) -> dict[str, Any]:
    from rankify_lite.io.json_file import load_json_object

    return load_json_object(path, "result metadata", "point at a folder written by rankify-lite "
                                                     "run --output (meta.json unedited).")


def open_saved(where: str | Path, *, allow_changed: bool = False,
               flag: str = "--allow-changed") -> SavedResult:
    """The saved result in folder ``where`` (or of the ``meta.json`` file ``where``), its run
    files confined to the folder and checked against their recorded sha256. A changed file is
    an InputError naming ``flag`` (the caller's way to read it anyway) unless
    ``allow_changed``."""
    where = Path(where)
    meta_path = where / META if where.is_dir() else where
    folder = meta_path.parent
    meta = _read_meta(meta_path)
    listed = meta.get("files", {})
    if not isinstance(listed, dict):
        raise InputError("files must be an object of system name -> run file name, not "
                         f"{type(listed).__name__}.", path=meta_path,
                         fix="restore the 'files' entry written by rankify-lite.")
    hashes = meta.get("file_sha256")
    if hashes is not None and not (isinstance(hashes, dict)
                                   and all(isinstance(v, str) for v in hashes.values())):
        raise InputError("file_sha256 must be an object of system name -> sha256 hex digest.",
                         path=meta_path, fix="restore the 'file_sha256' entry written by "
                                             "rankify-lite (or rerun to write a new result).")
    for system in listed:  # a name as declared: a 80 000-character one would hang a plot
        check_label(system, "files key", path=meta_path)
    files = tuple(saved_file(folder, system, fname, hashes, str(meta_path))
                  for system, fname in listed.items())
    refuse_shared_files(files, str(meta_path))
    saved = SavedResult(folder, meta_path, meta, files, hashes is not None)
    if not allow_changed:
        refuse_changed(saved.changed, str(meta_path), flag)
    return saved


def saved_file(folder: Path, system: Any, fname: Any, hashes: Mapping[str, str] | None,
               source: str | None) -> SavedFile:
    """One listed run file, confined to ``folder`` and hashed (``hashes`` None: nothing was
    recorded, so it counts as unchanged)."""
    what = f"files[{system!r}]"
    path = confined(folder, fname, what, source)
    try:
        actual = file_sha256(path) if path.is_file() else None
    except (OSError, ValueError) as exc:  # a name too long, a folder where the file should be
        raise InputError(f"{what}: the run file {fname[:80]!r} cannot be read ({exc}).",
                         path=source, fix="restore the 'files' entry written by rankify-lite "
                                          "and the run file beside meta.json.") from None
    recorded = hashes.get(str(system)) if hashes is not None else actual
    return SavedFile(str(system), fname, path, recorded, actual)


def refuse_shared_files(files: tuple[SavedFile, ...], source: str | None) -> None:
    """Two systems that name one run file are refused: one run would be shown under two names
    (a hand edit, a merge of two results; #38 item 2, the read side)."""
    seen: dict[Path, SavedFile] = {}
    for f in files:
        other = seen.setdefault(f.path, f)
        if other is not f:
            raise InputError(f"files[{f.system!r}] and files[{other.system!r}] name one run "
                             f"file {other.name!r}; each system has its own.", path=source,
                             fix="restore the 'files' entry written by rankify-lite.")


def refuse_changed(changed: tuple[SavedFile, ...], source: str | None, flag: str) -> None:
    """One line for the first changed file (and how many more), naming ``flag``."""
    if not changed:
        return
    f = changed[0]
    more = f" ({len(changed) - 1} more changed)" if len(changed) > 1 else ""
    raise InputError(f"{f.what}: {f.why()}{more}.", path=source,
                     fix=f"rerun to save a new result, or pass {flag} to read it anyway "
                         "(each changed file is then marked).")


__all__ = ["SavedFile", "SavedResult", "file_sha256", "open_saved", "refuse_changed",
           "refuse_shared_files", "saved_file", "saved_file_hashes"]
