"""Rebuild a Pipeline from the metadata of a saved result (``rankify-lite rerun``).

Every component is rebuilt from its saved spec (``rankify_lite.spec``). A first stage that was a
Run object is rebuilt from the first-stage run file saved beside ``meta.json``. Results saved
before specs were recorded fall back to the options of their ``config()`` the class accepts.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

from rankify_lite.builders import build
from rankify_lite.errors import InputError
from rankify_lite.file_policy import Consent
from rankify_lite.pipeline.pipeline import Pipeline
from rankify_lite.spec import ComponentSpec


def reranker_from_config(config: dict[str, Any]):
    """Rebuild a reranker from its recorded spec (the exact constructor options)."""
    spec = config.get("spec")
    if isinstance(spec, dict):
        return build(ComponentSpec.from_dict(spec, "reranker"))
    import importlib

    from rankify_lite.rerankers.registry import family_info, load_reranker
    from rankify_lite.retrievers.registry import accepted_options

    info = family_info(config["family"])
    module, cls_name = info.target.split(":")
    from rankify_lite.spec import with_legacy_defaults

    cls = getattr(importlib.import_module(module), cls_name)
    return load_reranker(config["family"], **with_legacy_defaults(
        cls, accepted_options(cls, config)))


def _records(conf: dict[str, Any]) -> list[dict[str, Any]]:
    records = conf.get("rerankers") or []
    if not isinstance(records, list) or not all(isinstance(c, dict) for c in records):
        raise InputError("metadata's pipeline.rerankers is not a list of reranker records.",
                         fix="pass the meta.json written by 'rankify-lite run --output DIR'.")
    return records


def _stages_of(system: Any) -> list[Any]:
    stages = system.get("stages") if isinstance(system, dict) else None
    if not isinstance(stages, list) or not stages:
        raise InputError(f"metadata's pipeline.systems holds a garbled entry {system!r:.80}.",
                         fix="pass the meta.json written by 'rankify-lite run --output DIR'.")
    return stages


def _unknown_stage(system: Any, name: Any) -> InputError:
    return InputError(f"metadata's system {system.get('label')!r} names a stage {name!r} that "
                      "pipeline.rerankers does not record.",
                      fix="pass the meta.json written by 'rankify-lite run --output DIR' "
                          "(unedited).")


def check_systems(conf: dict[str, Any]) -> None:
    """The systems' structure, checked before any reranker is built (building one may contact
    its server): every entry has stages, and each stage names a recorded reranker (when every
    record names its stage, as results since stage names do)."""
    records = _records(conf)
    systems = conf.get("systems")
    if systems is None:
        return
    names = [c.get("name") for c in records]
    for system in systems if isinstance(systems, list) else [None]:
        for st in _stages_of(system):
            name = st.get("name") if isinstance(st, dict) else None
            if all(isinstance(n, str) and n for n in names) and name not in names:
                raise _unknown_stage(system, name)
            depth = st.get("depth") if isinstance(st, dict) else None
            if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int)
                                      or depth < 1):
                raise InputError(f"metadata's system {system.get('label')!r}: stage {name!r} "
                                 f"has depth {depth!r:.40}, not a positive whole number.",
                                 fix="pass the meta.json written by 'rankify-lite run "
                                     "--output DIR' (unedited).")


def systems_from_meta(conf: dict[str, Any]) -> list[Any]:
    """The pipeline's systems: each recorded reranker rebuilt once under its recorded stage
    name, then every system's chain of ``(stage name, depth)`` (results saved before cascades:
    one system per reranker, at the pipeline's depth)."""
    records = _records(conf)
    check_systems(conf)  # offline, before anything is built
    built = {}
    for c in records:
        reranker = reranker_from_config(c)
        name = c.get("name")
        if isinstance(name, str) and name:
            reranker = reranker.named(name)
        built[reranker.name] = reranker
    systems = conf.get("systems")
    if systems is None:
        return list(built.values())
    out = []
    for system in systems if isinstance(systems, list) else [None]:
        chain = None
        for st in _stages_of(system):
            name = st.get("name") if isinstance(st, dict) else None
            depth = st.get("depth") if isinstance(st, dict) else None
            if name not in built:
                raise _unknown_stage(system, name)
            stage = built[name] % depth
            chain = stage if chain is None else chain >> stage
        out.append(chain)
    return out


def first_stage_from_meta(conf: dict[str, Any], folder: Path | None,
                          files: dict[str, str], hashes: Any = None, *,
                          allow_changed: bool = False, source: str | None = None) -> Any:
    """The first stage of a saved result: from its spec, or (a Run given in Python) from the
    first-stage run file saved with the result, checked against its recorded sha256
    (``hashes``, meta.json's ``file_sha256``) by the saved-result loader."""
    from rankify_lite.retrievers.registry import retriever_from_config
    from rankify_lite.retrievers.runs import RunFile, ShippedRun

    rconf = conf["retriever"]
    spec = conf.get("first_stage")
    family = spec.get("family") if isinstance(spec, dict) else rconf.get("family")
    if family == "given-run":
        name = rconf.get("name")
        fname = files.get(name) if isinstance(name, str) else None
        if folder is None or not fname or not (folder / fname).is_file():
            raise InputError("this result started from a Run object passed in Python, and its "
                             "first-stage run file is not beside meta.json.",
                             fix="rerun the meta.json inside the saved result folder (it holds "
                                 "the run file), or rerun from Python.")
        from rankify_lite.pipeline.saved import refuse_changed, saved_file

        saved = saved_file(folder, name, fname, hashes if isinstance(hashes, dict) else None,
                           source)
        if not allow_changed:
            refuse_changed((saved,) if saved.changed else (), source, "allow_changed=True")
        return RunFile(saved.path, name=name)
    if isinstance(spec, dict):
        return build(ComponentSpec.from_dict(spec, "retriever"))
    if family == "shipped-run":
        return ShippedRun(rconf["name"])
    return retriever_from_config(rconf)


def dataset_candidates(info: Any, folder: Path | None) -> list[str | Path]:
    """Where the dataset a saved result names may be read, in order: the one rule ``report``
    and ``rerun`` share (:func:`dataset_of_meta`). A shared meta.json never makes either read
    a dataset outside its folder that its author does not already know:

    * a relative ``dataset.source`` only inside the result folder (:func:`io.files.inside
      <rankify_lite.io.files.inside>`: no ``..``, no link out); otherwise it is ignored;
    * an absolute ``source`` only when ``dataset.content_hash`` is recorded: the dataset found
      there must then match it (``rerun`` and ``report`` refuse a mismatch unless allowed), so
      an unknown dataset is never read into a report; without a hash it is ignored (``~`` is
      never expanded);
    * then ``dataset.name`` (a name of the registry or the data folder).

    A dataset the user passes explicitly (``report --dataset``) bypasses this rule."""
    from rankify_lite.io.files import inside

    info = info if isinstance(info, dict) else {}
    source, name, recorded = info.get("source"), info.get("name"), info.get("content_hash")
    out: list[str | Path] = []
    if isinstance(source, str) and source and not source.startswith("ir_datasets:"):
        path = Path(source)
        if path.is_absolute():
            if isinstance(recorded, str) and recorded:
                out.append(path)
        elif folder is not None:
            with contextlib.suppress(InputError):
                out.append(inside(folder, source, "dataset.source"))
    if isinstance(name, str) and name:
        out.append(name)
    return out


def load_recorded_dataset(where: str | Path, info: Any, folder: Path | None) -> Any:
    """``load_dataset(where)`` for a candidate of :func:`dataset_candidates`; a pre-retrieved
    file (rank_llm / Rankify JSON) is read with the judgments it was scored with: its
    recorded ``qrels_source``, found by the same rule as ``dataset.source`` (inside the
    result folder, or an absolute path when the content hash is recorded), or Rankify's
    answer matches when ``relevance_from_answers`` was set."""
    from rankify_lite.datasets import load_dataset
    from rankify_lite.datasets.pre_retrieved import is_pre_retrieved_name, load_pre_retrieved

    info = info if isinstance(info, dict) else {}
    fmt = info.get("format")
    path = Path(where)
    if not (isinstance(fmt, str) and fmt.startswith("pre-retrieved/") and path.is_file()
            and is_pre_retrieved_name(path)):
        return load_dataset(where)
    if info.get("relevance_from_answers") is True:
        return load_pre_retrieved(path, relevance_from_answers=True)
    qrels_source = info.get("qrels_source")
    if not isinstance(qrels_source, str) or not qrels_source:
        return load_pre_retrieved(path)
    found = [c for c in dataset_candidates({"source": qrels_source,
                                            "content_hash": info.get("content_hash")}, folder)
             if isinstance(c, Path) and c.is_file()]
    if not found:
        raise InputError(f"the judgments this result was scored with ({qrels_source}) are not "
                         "here, or not where a shared result may point (inside its folder, or "
                         "an absolute path with the dataset's content_hash recorded).",
                         fix="put the qrels file at that path, or run the file again: "
                             f"rankify-lite run --dataset {path} --qrels QRELS.")
    return load_pre_retrieved(path, qrels=found[0])


def dataset_of_meta(meta: dict[str, Any], folder: str | Path | None = None) -> str:
    """The dataset name (or folder) a saved result was computed on (see
    :func:`dataset_candidates`): the first folder that exists, else its name."""
    dataset = meta.get("dataset") if isinstance(meta, dict) else None
    if not isinstance(dataset, dict) or not isinstance(dataset.get("name"), str):
        raise InputError("metadata lacks dataset.name or is garbled; not a rankify-lite result "
                         "file.", fix="pass the meta.json written by 'rankify-lite run --output "
                                      "DIR'.")
    for cand in dataset_candidates(dataset, Path(folder) if folder is not None else None):
        if isinstance(cand, Path):
            if cand.exists():
                return str(cand)
            continue
        return cand
    return dataset["name"]


def pipeline_from_meta(meta: dict[str, Any], folder: str | Path | None = None, *,
                       trust_remote_code: bool = False, source: str | None = None,
                       consent: Consent | None = None,
                       allow_changed: bool = False) -> tuple[Pipeline, str]:
    """(pipeline, dataset name or path) reproducing ``meta``; warns on version differences.
    ``folder``: where the result was saved (its run files rebuild a given first-stage run).
    ``meta`` is untrusted data: see :mod:`rankify_lite.pipeline.trust` for what it may not do;
    ``consent`` is what the user allowed it (``--allow-server``, ``--trust-remote-code``).
    A first-stage run file read from ``folder`` must match its recorded sha256 unless
    ``allow_changed``."""
    from rankify_lite.pipeline.environment import package_versions
    from rankify_lite.pipeline.trust import sanitize_meta

    meta = sanitize_meta(meta, Path(folder) if folder is not None else None,
                         trust_remote_code=trust_remote_code, source=source, consent=consent)

    try:
        conf = meta["pipeline"]
        dataset = meta["dataset"]
        conf["retriever"]["family"], conf["depth"], conf["k"], dataset["name"]  # noqa: B018
    except (KeyError, TypeError) as exc:
        raise InputError(f"metadata lacks {exc} or is garbled; not a rankify-lite result file.",
                         fix="pass the meta.json written by 'rankify-lite run --output DIR'.") from None
    files = meta.get("files") if isinstance(meta.get("files"), dict) else {}
    check_systems(conf)  # every offline check before the first component is built
    first = first_stage_from_meta(conf, Path(folder) if folder is not None else None, files,
                                  meta.get("file_sha256"), allow_changed=allow_changed,
                                  source=source)
    rerankers = systems_from_meta(conf)
    recorded = meta.get("environment", {}).get("packages", {})
    now = package_versions()
    changed = {k: (v, now.get(k)) for k, v in recorded.items() if now.get(k) != v}
    if changed:
        warnings.warn(f"package versions differ from the recorded run: {changed}", stacklevel=2)
    pipeline = Pipeline(first, rerankers, depth=conf["depth"], k=conf["k"],
                        metrics=conf.get("metrics"), seed=conf.get("seed", 0),
                        test=conf.get("test", "t-test"))
    return pipeline, dataset_of_meta(meta, folder)
