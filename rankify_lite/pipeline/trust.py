"""Files people share are data, never code: what a saved result's ``meta.json`` may ask for.

``rankify-lite rerun`` rebuilds a pipeline from a ``meta.json`` that may come from anyone (a
colleague, a paper's repository). Before anything is built or read:

* no option from the file may enable remote code (``trust_remote_code``) unless the command
  line says ``--trust-remote-code``; the error names the spec that asked;
* no option from the file may choose where rankify-lite writes (``log_path``, ``index_root``);
* the component kind comes from where a spec sits (a reranker in ``rerankers``, a first stage
  in ``first_stage``), never from the spec's own ``kind`` field;
* run files are read only from the result folder (the copies saved beside ``meta.json``);
* what the file claims is verified: the dataset's content hash, and the first-stage run's (the
  sha256 of its saved copy, or the content hash its retriever record holds). A mismatch is one
  line; ``--allow-changed-data`` reruns anyway and the new metadata records it.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError

#: options that would run Python code shipped with a model
REMOTE_CODE_OPTIONS = ("trust_remote_code",)
#: options that choose where a component writes files
WRITE_OPTIONS = ("log_path", "index_root")
_NESTED = "$spec"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def saved_file_hashes(folder: Path, files: Mapping[str, str]) -> dict[str, str]:
    """sha256 of each run file saved in ``folder`` (what ``rerun`` verifies them against)."""
    return {name: file_sha256(folder / fname) for name, fname in files.items()}


def check_options(options: Any, where: str, source: str | None = None, *,
                  trust_remote_code: bool = False, flag: str = "--trust-remote-code") -> None:
    """Refuse options read from a shared file that would run code or write files. Walks nested
    dicts and lists (nested component specs too); ``where`` names the spec in the message."""
    for path, key, value in _walk(options, where):
        if key in REMOTE_CODE_OPTIONS and value and not trust_remote_code:
            raise InputError(f"{path} asks for {key}={value!r}, which runs Python code shipped "
                             "with the model; a shared file can't enable that.", path=source,
                             fix=f"rerun with {flag} if you trust that model's code, or remove "
                                 "the option from the file.")
        if key == "api_key_env" and value is not None and not (
                isinstance(value, str) and value.endswith("API_KEY")):
            raise InputError(f"{path} names the environment variable {str(value)[:40]!r}, whose "
                             "value would be sent to a server; a shared file may only name "
                             "*_API_KEY variables.", path=source,
                             fix="delete 'api_key_env' from the file (OPENAI_API_KEY is used), "
                                 "or build the reranker in Python.")
        if key in WRITE_OPTIONS and value is not None:
            raise InputError(f"{path} sets {key}={str(value)[:80]!r}, which chooses where files "
                             "are written; options read from a shared file can't do that.",
                             path=source, fix=f"delete '{key}' from the file (the default "
                             "location is used), or build the component in Python.")


def _walk(value: Any, where: str):
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield f"{where}.{k}", str(k), v
            yield from _walk(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{where}[{i}]")


def _first_stage_kind(family: str, where: str, source: str | None) -> str:
    from rankify_lite.retrievers.registry import FAMILIES, RUN_FAMILIES

    if family in RUN_FAMILIES:
        return "first-stage"
    if family in FAMILIES:
        return "retriever"
    raise InputError(f"{where}: {family!r} is not a retriever or first-stage family.",
                     path=source, fix=f"use one of {', '.join([*FAMILIES, *RUN_FAMILIES])}.")


def _set_kind(spec: Any, kind: str, where: str, source: str | None) -> None:
    """Give ``spec`` the kind of the place it sits in; nested specs (fusion inputs) too."""
    if not isinstance(spec, dict):
        return
    claimed = spec.get("kind")
    if claimed is not None and claimed != kind:
        raise InputError(f"{where} claims kind {claimed!r}, but it sits where a {kind} goes.",
                         path=source, fix=f"restore its kind to {kind!r} (the kind is taken from "
                                          "where a spec sits, not from the spec).")
    spec["kind"] = kind
    family = spec.get("family")
    if kind == "reranker" and isinstance(family, str):
        from rankify_lite.rerankers.registry import family_info

        try:
            family_info(family)
        except InputError as exc:
            raise InputError(f"{where}: {exc.problem}", path=source, fix=exc.fix) from None
    for path, key, inner in _walk(spec.get("options"), f"{where}.options"):
        if key == _NESTED and isinstance(inner, dict):
            _set_kind(inner, _first_stage_kind(str(inner.get("family")), path, source), path,
                      source)


def _confined(folder: Path, fname: Any, what: str, source: str | None) -> Path:
    """``folder / fname`` when it is a file inside ``folder`` (no absolute path, no ``..``, no
    symlink out); otherwise an InputError."""
    if not isinstance(fname, str) or not fname:
        raise InputError(f"{what}: the file name {fname!r} is not a name.", path=source,
                         fix="restore the 'files' entry written by rankify-lite.")
    root = folder.resolve()
    target = (folder / fname).resolve()
    if Path(fname).is_absolute() or not target.is_relative_to(root):
        raise InputError(f"{what}: {fname!r} is outside the result folder {folder}; a saved "
                         "result reads run files only from its own folder.", path=source,
                         fix="copy the run file into the result folder and name it there.")
    return target


def sanitize_meta(meta: dict[str, Any], folder: Path | None, *,
                  trust_remote_code: bool = False, source: str | None = None) -> dict[str, Any]:
    """A copy of ``meta`` that is safe to rebuild from, or an InputError (see the module doc).

    Reranker specs get kind ``reranker``, the first stage its family's kind; a run-file first
    stage is redirected to its copy saved in ``folder``; ``files`` entries must lie in it."""
    meta = copy.deepcopy(meta)
    conf = meta.get("pipeline")
    if not isinstance(conf, dict):
        return meta  # rebuild's own check says what is missing
    check_options(conf, "pipeline", source, trust_remote_code=trust_remote_code)
    for i, rconf in enumerate(conf.get("rerankers") or []):
        if isinstance(rconf, dict):
            _set_kind(rconf.get("spec"), "reranker", f"pipeline.rerankers[{i}].spec", source)
    spec = conf.get("first_stage")
    if isinstance(spec, dict):
        family = str(spec.get("family"))
        _set_kind(spec, _first_stage_kind(family, "pipeline.first_stage", source),
                  "pipeline.first_stage", source)
        if family == "run-file":  # rebuilt from its copy in the folder, never from `path`
            spec["family"] = "given-run"
        for where, key, inner in _walk(spec.get("options"), "pipeline.first_stage.options"):
            if key == _NESTED and isinstance(inner, dict) and inner.get("family") == "run-file":
                path = (inner.get("options") or {}).get("path")
                if folder is None:
                    raise InputError(f"{where} reads the run file {path!r}, and no result folder "
                                     "confines it.", path=source,
                                     fix="rerun the meta.json inside its result folder.")
                inner.setdefault("options", {})["path"] = str(
                    _confined(folder, path, where, source))
    files = meta.get("files")
    if isinstance(files, dict) and folder is not None:
        for name, fname in files.items():
            _confined(folder, fname, f"files[{name!r}]", source)
    return meta


def verify_inputs(meta: Mapping[str, Any], folder: Path | None, dataset: Any, *,
                  allow_changed_data: bool = False, source: str | None = None) -> dict[str, Any]:
    """Compare what ``meta`` recorded with what a rerun would read (the dataset's content hash,
    the first-stage run's); returns the record the new metadata keeps (``rerun``). A mismatch
    is an InputError unless ``allow_changed_data``, which the record then says."""
    record: dict[str, Any] = {"from": source, "changed": [],
                              "allow_changed_data": allow_changed_data}
    saved = meta.get("dataset") if isinstance(meta.get("dataset"), Mapping) else {}
    recorded = saved.get("content_hash")
    now = dataset.content_hash()
    if recorded != now:
        record["changed"].append({"what": "dataset", "recorded": recorded, "now": now})
        queries = getattr(dataset, "queries", None)
        counts = (f"; {saved.get('queries')} queries recorded, {len(queries)} now"
                  if queries is not None and saved.get("queries") is not None else "")
        _refuse(allow_changed_data, f"the dataset {dataset.name!r} is not the one this result "
                f"was computed on (content hash {str(recorded)[:12]} recorded, {now[:12]} now"
                f"{counts}).", source)
    first = _first_stage_check(meta, folder, dataset) if hasattr(dataset, "load_run") else None
    if first is not None:
        record["changed"].append(first)
        _refuse(allow_changed_data, f"the first-stage run {first['name']!r} is not the one this "
                f"result was computed from ({first['why']}).", source)
    return record


def _refuse(allowed: bool, problem: str, source: str | None) -> None:
    if not allowed:
        raise InputError(problem, path=source, fix="rerun on the data the result was computed "
                         "on, or pass --allow-changed-data to rerun on this data (the new "
                         "metadata records it).")


def _first_stage_check(meta: Mapping[str, Any], folder: Path | None,
                       dataset: Any) -> dict[str, Any] | None:
    """What differs about the first-stage run, or None when it matches (or can't be checked:
    a retriever recomputes its run)."""
    from rankify_lite.io.trec import read_run

    conf = meta.get("pipeline") or {}
    rconf = conf.get("retriever") or {}
    spec = conf.get("first_stage") if isinstance(conf.get("first_stage"), dict) else {}
    family = spec.get("family") or rconf.get("family")
    name = rconf.get("name")
    files = meta.get("files") if isinstance(meta.get("files"), dict) else {}
    fname = files.get(name) if isinstance(name, str) else None
    if folder is None or not fname or not (folder / fname).is_file():
        return None
    path = folder / fname
    hashes = meta.get("file_sha256") if isinstance(meta.get("file_sha256"), dict) else {}
    if family in ("given-run", "run-file"):
        if name in hashes:
            if file_sha256(path) != hashes[name]:
                return {"what": "first-stage", "name": name, "why": f"{fname} was changed "
                        "after it was saved: its sha256 does not match the record"}
            return None
        if rconf.get("content_hash") not in (None, read_run(path, name=name).content_hash()):
            return {"what": "first-stage", "name": name, "why": f"{fname} does not hold the "
                    "run whose content hash the retriever record holds"}
        return None
    if family == "shipped-run":
        saved = read_run(path, name=name)
        shipped = dataset.load_run(name).restrict(dataset.queries).top(int(conf.get("k") or 1000))
        if dataset.remove_self_hits:
            shipped = shipped.without_self_hits()
        if shipped.content_hash() != saved.content_hash():
            return {"what": "first-stage", "name": name, "why": f"the dataset's shipped run "
                    f"{name!r} differs from the copy saved as {fname}"}
    return None
