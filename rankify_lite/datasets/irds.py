"""ir_datasets ids (online users): ``beir/scifact/test``, ``msmarco-passage/trec-dl-2019/judged``."""

from __future__ import annotations

from rankify_lite.datasets.dataset import Dataset
from rankify_lite.errors import DatasetNotFoundError
from rankify_lite.types import Corpus, Document, Qrels, Queries, Query


def _module():
    try:
        import ir_datasets
    except ImportError:
        return None
    from rankify_lite.datasets.irds_logs import route_irds_logs

    route_irds_logs(ir_datasets.log)  # its INFO / WARNING lines to a log file, not the terminal
    return ir_datasets


def is_known(name: str) -> bool:
    irds = _module()
    if irds is None:
        return False
    try:
        irds.registry[name]
    except KeyError:
        return False
    return True


def _query_text(q) -> str:
    for attr in ("text", "title", "query"):
        value = getattr(q, attr, None)
        if isinstance(value, str) and value:
            return value
    return str(q[1])


def load(name: str, with_corpus: bool = True) -> Dataset:
    irds = _module()
    ds = irds.load(name)
    try:
        queries = Queries({q.query_id: Query(q.query_id, _query_text(q)) for q in ds.queries_iter()})
        qrels: dict[str, dict[str, int]] = {}
        for r in ds.qrels_iter():
            qrels.setdefault(r.query_id, {})[r.doc_id] = int(r.relevance)
        corpus = None
        if with_corpus and ds.has_docs():
            corpus = Corpus({d.doc_id: Document(d.doc_id, getattr(d, "text", "") or "",
                                                getattr(d, "title", "") or "")
                             for d in ds.docs_iter()})
    except Exception as exc:  # network errors come in many types
        raise DatasetNotFoundError(
            f"ir_datasets could not fetch {name!r} ({type(exc).__name__}: {exc}). Fix: run once "
            "where the network is reachable, or point at a local copy: "
            "load_dataset('/path/to/folder') with a BEIR-layout folder, or set RANKIFY_LITE_DATA."
        ) from None
    return Dataset(name, corpus, queries, Qrels(qrels),
                   metadata={"source": f"ir_datasets:{name}", "format": "ir_datasets",
                             "ir_datasets_version": getattr(irds, "__version__", "?")})
