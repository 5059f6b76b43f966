"""Files people share are data, never code: what a saved result's ``meta.json`` may ask for.

``rankify-lite rerun`` rebuilds a pipeline from a ``meta.json`` that may come from anyone (a
colleague, a paper's repository). Before anything is built or read:

* every option a component is rebuilt from must be on the allow-list its class declares
  (``file_options``, see :mod:`rankify_lite.file_policy`): remote code (``trust_remote_code``)
  needs ``--trust-remote-code``; a server address (``base_url``) needs ``--allow-server URL``
  or the same address configured in the environment, so the user's API key only ever goes to
  an address the user chose; places that are written (``log_path``, ``index_root``), live
  objects and free-form engine arguments are never taken from a file; an option nobody
  declared is refused. The error names the file, the spec's option and the flag;
* the component kind comes from where a spec sits (a reranker in ``rerankers``, a first stage
  in ``first_stage``), never from the spec's own ``kind`` field;
* run files are read only from the result folder (the copies saved beside ``meta.json``);
* what the file claims is verified: the dataset's content hash, and the first-stage run's (the
  sha256 of its saved copy, or the content hash its retriever record holds). A mismatch is one
  line; ``--allow-changed-data`` reruns anyway and the new metadata records it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.file_policy import (
    CODE,
    COMPONENT,
    CREDENTIAL,
    DATA,
    PYTHON,
    RERANKER_OPTIONS,
    SERVER,
    Consent,
    consent_of,
    declared_kinds,
)
from rankify_lite.pipeline.saved import SavedResult, confined
from rankify_lite.spec import NESTED as _NESTED  # one copy: the key of a nested spec


def component_class(kind: str, family: str, where: str, source: str | None) -> type:
    """The class a spec of ``kind`` / ``family`` builds (its declared file options say what a
    shared file may set); an unknown family is one line naming the spec."""
    from rankify_lite.retrievers.registry import FAMILIES, RETRIEVERS, RUN_FAMILIES, _load

    if kind == "reranker":
        from rankify_lite.rerankers.registry import family_info

        try:
            return family_info(family).cls()
        except InputError as exc:
            raise InputError(f"{where}: {exc.problem}", path=source, fix=exc.fix) from None
    table = {"retriever": FAMILIES, "first-stage": RUN_FAMILIES,
             "retriever-name": {n: t for n, (t, _) in RETRIEVERS.items()}}[kind]
    if family not in table:
        raise InputError(f"{where}: {family!r} is not a {kind.replace('-name', '')} family.",
                         path=source, fix=f"use one of {', '.join(table)}.")
    return _load(table[family])


def check_component(kind: str, family: str, options: Any, where: str,
                    source: str | None = None, consent: Consent | None = None) -> None:
    """Refuse what a shared file may not set in the options of one component spec: every option
    must be declared by the component's class (``file_options``, see
    :mod:`rankify_lite.file_policy`) as one a file may set, with the user's consent where the
    declaration asks for it. Nested specs are checked by their own family's declaration.
    ``where`` names the spec, ``source`` the file, in the one-line refusal."""
    consent = consent or Consent()
    if options is None:
        return
    if not isinstance(options, Mapping):
        raise InputError(f"{where} must be a mapping of options, got {type(options).__name__}.",
                         path=source, fix="write the options as {name: value, ...}.")
    cls = component_class(kind, family, where, source)
    kinds = declared_kinds(cls)
    for key, value in options.items():
        here = f"{where}.{key}"
        # every reranker's tie rule (rerankers/ties.py) is a name: plain data
        what = DATA if key == "ties" and kind == "reranker" else kinds.get(str(key))
        if what is None:
            from rankify_lite.spec import check_options as check_known

            try:  # a typo gets the close matches
                check_known(cls, {key: value}, f"{where} ({family})",
                            extra=(*kinds, *(("ties",) if kind == "reranker" else ())))
            except InputError as exc:
                raise InputError(exc.problem, path=source, fix=exc.fix) from None
            raise InputError(f"{here}: {family!r} takes no option {key!r} that a shared file "
                             "may set (it is not declared for files).", path=source,
                             fix="delete it from the file, or build the component in Python.")
        _check_value(what, key, value, options, here, kinds, family, source, consent)


def _check_value(what: str, key: str, value: Any, options: Mapping[str, Any], here: str,
                 kinds: Mapping[str, str], family: str, source: str | None,
                 consent: Consent) -> None:
    if what == DATA:
        if _has_nested(value):
            raise InputError(f"{here} holds a nested component spec, which {family!r} does not "
                             f"take in {key!r}.", path=source,
                             fix="write a plain value there, or build the component in Python.")
    elif what == SERVER:
        if value is not None and not consent.allows_server(value):
            raise InputError(f"{here} names the server {str(value)[:80]!r}, which you did not "
                             "configure; a shared file can't choose where requests (and your "
                             "API key) go.", path=source,
                             fix=f"pass --allow-server {str(value)[:80]} if you trust that "
                                 "server (or set OPENAI_BASE_URL / RANKIFY_LITE_SERVERS to it), "
                                 "or delete the option from the file.")
    elif what == CREDENTIAL:
        if value is None:
            return
        if not (isinstance(value, str) and value.endswith("API_KEY")):
            raise InputError(f"{here} names the environment variable {str(value)[:40]!r}, whose "
                             "value would be sent to a server; a shared file may only name "
                             "*_API_KEY variables.", path=source,
                             fix=f"delete {key!r} from the file (OPENAI_API_KEY is used), "
                                 "or build the reranker in Python.")
        servers = [v for k, v in options.items() if v is not None
                   and kinds.get(str(k)) == SERVER]
        if not servers or not all(consent.allows_server(v) for v in servers):
            raise InputError(f"{here} names the key {value!r} for no server you configured; a "
                             "key is only sent to an address you chose.", path=source,
                             fix="name the server with --allow-server URL, or delete "
                                 f"{key!r} from the file.")
    elif what == CODE:
        if value and not consent.trust_remote_code:
            raise InputError(f"{here} asks for {key}={value!r}, which runs Python code shipped "
                             "with the model; a shared file can't enable that.", path=source,
                             fix="rerun with --trust-remote-code if you trust that model's "
                                 "code, or remove the option from the file.")
    elif what == PYTHON:
        if value is not None:
            raise InputError(f"{here} sets {key}={str(value)[:80]!r}, which only Python may set "
                             "(a live object, a place files are written, or free-form engine "
                             "arguments); options read from a shared file can't.", path=source,
                             fix=f"delete {key!r} from the file (the default is used), or "
                                 "build the component in Python.")
    elif what == COMPONENT:
        for i, inner in enumerate(value if isinstance(value, list) else [value]):
            at = f"{here}[{i}]" if isinstance(value, list) else here
            spec = inner.get(_NESTED) if isinstance(inner, Mapping) and set(inner) == {
                _NESTED} else None
            if inner is None and not isinstance(value, list):
                continue
            if not isinstance(spec, Mapping) or not isinstance(spec.get("family"), str):
                raise InputError(f"{at} must be a nested component spec ({{$spec: {{family: "
                                 "..., options: ...}}}).", path=source,
                                 fix="restore the spec written by rankify-lite, or build the "
                                     "component in Python.")
            inner_kind = _first_stage_kind(spec["family"], at, source)
            check_component(inner_kind, spec["family"], spec.get("options"),
                            f"{at}.options", source, consent)
    elif what == RERANKER_OPTIONS:
        if value is None:
            return
        family = options.get("reranker")
        if not isinstance(family, str):
            raise InputError(f"{here} goes with a reranker family name in 'reranker'.",
                             path=source, fix="name the reranker family, e.g. "
                                              "reranker: bi-encoder.")
        check_component("reranker", family, value, here, source, consent)


def _has_nested(value: Any) -> bool:
    if isinstance(value, Mapping):
        return _NESTED in value or any(_has_nested(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nested(v) for v in value)
    return False


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


def sanitize_meta(meta: dict[str, Any], folder: Path | None, *,
                  trust_remote_code: bool = False, source: str | None = None,
                  consent: Consent | None = None) -> dict[str, Any]:
    """A copy of ``meta`` that is safe to rebuild from, or an InputError (see the module doc).

    Reranker specs get kind ``reranker``, the first stage its family's kind; every option a
    component is rebuilt from must be one its class declares a shared file may set (with the
    user's ``consent`` where the declaration asks); a run-file first stage is redirected to its
    copy saved in ``folder``; ``files`` entries must lie in it."""
    consent = consent_of(consent, trust_remote_code)
    meta = copy.deepcopy(meta)
    conf = meta.get("pipeline")
    if not isinstance(conf, dict):
        return meta  # rebuild's own check says what is missing
    for i, rconf in enumerate(conf.get("rerankers") or []):
        if isinstance(rconf, dict):
            _set_kind(rconf.get("spec"), "reranker", f"pipeline.rerankers[{i}].spec", source)
            _check_reranker_record(rconf, f"pipeline.rerankers[{i}]", source, consent)
    spec = conf.get("first_stage")
    if isinstance(spec, dict):
        family = str(spec.get("family"))
        kind = _first_stage_kind(family, "pipeline.first_stage", source)
        _set_kind(spec, kind, "pipeline.first_stage", source)
        check_component(kind, family, spec.get("options"), "pipeline.first_stage.options",
                        source, consent)
    elif isinstance(conf.get("retriever"), dict):
        _check_retriever_config(conf["retriever"], "pipeline.retriever", source, consent)
    if isinstance(spec, dict):
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
                    confined(folder, path, where, source))
    files = meta.get("files")
    if isinstance(files, dict) and folder is not None:
        for name, fname in files.items():
            confined(folder, fname, f"files[{name!r}]", source)
    return meta


def _check_reranker_record(rconf: Mapping[str, Any], where: str, source: str | None,
                           consent: Consent) -> None:
    """A reranker record is rebuilt from its spec, or (results saved before specs) from the
    options of its ``config()`` that the class accepts: check exactly what is rebuilt from."""
    spec = rconf.get("spec")
    if isinstance(spec, Mapping):
        if isinstance(spec.get("family"), str):
            check_component("reranker", spec["family"], spec.get("options"),
                            f"{where}.spec.options", source, consent)
        return
    family = rconf.get("family")
    if isinstance(family, str):
        from rankify_lite.retrievers.registry import accepted_options

        cls = component_class("reranker", family, where, source)
        check_component("reranker", family, accepted_options(cls, dict(rconf)), where, source,
                        consent)


def _check_retriever_config(rconf: Mapping[str, Any], where: str, source: str | None,
                            consent: Consent) -> None:
    """A retriever saved before specs is rebuilt from its ``config()`` (a fusion: from its
    retrievers' configs too): check what is rebuilt from."""
    from rankify_lite.retrievers.registry import FAMILIES, accepted_options

    family = rconf.get("family")
    if family not in FAMILIES:
        return  # shipped / given runs carry no options; rebuild names an unknown family
    cls = component_class("retriever", str(family), where, source)
    options = accepted_options(cls, {k: v for k, v in rconf.items() if k != "retrievers"})
    check_component("retriever", str(family), options, where, source, consent)
    for i, sub in enumerate(rconf.get("retrievers") or [] if family == "fusion" else []):
        if isinstance(sub, Mapping):
            _check_retriever_config(sub, f"{where}.retrievers[{i}]", source, consent)


def verify_inputs(result: SavedResult, dataset: Any, *, allow_changed_data: bool = False,
                  source: str | None = None) -> dict[str, Any]:
    """Compare what a saved result recorded with what a rerun would read (the dataset's content
    hash, the first-stage run's; its files' sha256 were checked by
    :func:`~rankify_lite.pipeline.saved.open_saved`); returns the record the new metadata keeps
    (``rerun``). A mismatch is an InputError unless ``allow_changed_data``, which the record
    then says."""
    meta, folder = result.meta, result.folder
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
    first = (_first_stage_check(meta, folder, dataset, result)
             if hasattr(dataset, "load_run") else None)
    if first is not None:
        record["changed"].append(first)
        _refuse(allow_changed_data, f"the first-stage run {first['name']!r} is not the one this "
                f"result was computed from ({first['why']}).", source)
    record["changed"] += [{"what": "run-file", "name": f.system, "why": f.why()}
                          for f in result.changed if first is None or f.system != first["name"]]
    return record


def _refuse(allowed: bool, problem: str, source: str | None) -> None:
    if not allowed:
        raise InputError(problem, path=source, fix="rerun on the data the result was computed "
                         "on, or pass --allow-changed-data to rerun on this data (the new "
                         "metadata records it).")


def _first_stage_check(meta: Mapping[str, Any], folder: Path | None, dataset: Any,
                       result: SavedResult) -> dict[str, Any] | None:
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
    saved = result.file(name)
    if family in ("given-run", "run-file"):
        if saved is not None and result.verified:
            if saved.changed:
                return {"what": "first-stage", "name": name, "why": f"{fname}: {saved.why()}"}
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
