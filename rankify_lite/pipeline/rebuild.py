"""Rebuild a Pipeline from the metadata of a saved result (``rankify-lite rerun``)."""

from __future__ import annotations

import warnings
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.pipeline.pipeline import SHIPPED_PREFIX, Pipeline


def reranker_from_config(config: dict[str, Any]):
    """Rebuild a reranker from its recorded spec (the exact constructor options); results saved
    before specs were recorded fall back to the options of ``config`` the class accepts."""
    from rankify_lite.rerankers.registry import family_info, load_reranker
    from rankify_lite.retrievers.registry import accepted_options

    spec = config.get("spec")
    if isinstance(spec, dict):
        if not spec.get("rebuildable") or not isinstance(spec.get("options"), dict):
            raise InputError(f"reranker {config.get('family')!r} can't be rebuilt from metadata: "
                             f"{spec.get('why', 'no saved options')}.",
                             fix="build it with a model id or folder (not a live object), or "
                                 "rerun from Python.")
        return load_reranker(spec["family"], **spec["options"])
    info = family_info(config["family"])
    import importlib

    module, cls_name = info.target.split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    return load_reranker(config["family"], **accepted_options(cls, config))


def pipeline_from_meta(meta: dict[str, Any]) -> tuple[Pipeline, str]:
    """(pipeline, dataset name or path) reproducing ``meta``; warns on version differences."""
    from rankify_lite.pipeline.environment import package_versions
    from rankify_lite.retrievers.registry import retriever_from_config

    try:
        conf = meta["pipeline"]
        dataset = meta["dataset"]
        rconf = conf["retriever"]
        rconf["family"], conf["depth"], conf["k"], dataset["name"]  # noqa: B018 - presence check
    except (KeyError, TypeError) as exc:
        raise InputError(f"metadata lacks {exc} or is garbled; not a rankify-lite result file.",
                         fix="pass the meta.json written by 'rankify-lite run --output DIR'.") from None
    if rconf["family"] == "shipped-run":
        retriever: Any = SHIPPED_PREFIX + rconf["name"]
    elif rconf["family"] == "given-run":
        raise InputError("this result started from a Run object passed in Python; it can't be "
                         "rebuilt from metadata alone.", fix="rerun it from Python.")
    else:
        retriever = retriever_from_config(rconf)
    rerankers = [reranker_from_config(c) for c in conf.get("rerankers", [])]
    recorded = meta.get("environment", {}).get("packages", {})
    now = package_versions()
    changed = {k: (v, now.get(k)) for k, v in recorded.items() if now.get(k) != v}
    if changed:
        warnings.warn(f"package versions differ from the recorded run: {changed}", stacklevel=2)
    pipeline = Pipeline(retriever, rerankers, depth=conf["depth"], k=conf["k"],
                        metrics=conf.get("metrics"), seed=conf.get("seed", 0),
                        test=conf.get("test", "t-test"))
    source = dataset.get("source") or dataset["name"]
    name = dataset["name"] if not str(source).startswith("/") else source
    return pipeline, name
