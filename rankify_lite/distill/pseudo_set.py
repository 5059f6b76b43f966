"""A generated pseudo-query set: queries, their source passages as qrels, and its spec.

:meth:`PseudoQueries.filtered` is the consistency filter (InPars-v2, Promptagator's round-trip
filter): keep a query only when a ranker (the first stage or the teacher) puts its source
passage in its top ``k``. :meth:`PseudoQueries.save` writes a BEIR folder (``corpus.jsonl``,
``queries.jsonl``, ``qrels/train.tsv``, ``collection.yaml`` naming the train split, and
``pseudo_queries.json``: the spec, counts and timing) that ``load_dataset(folder)`` reads back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, Qrels, Queries, Query, Run

SPEC_FILE = "pseudo_queries.json"
FILES = ("corpus.jsonl", "queries.jsonl", "qrels/train.tsv", "collection.yaml", SPEC_FILE)


@dataclass(frozen=True)
class PseudoQueries:
    """Queries ``pq-<doc id>``, each judged relevant to its source passage only."""

    queries: Queries
    qrels: Qrels
    spec: Mapping[str, Any] = field(default_factory=dict)
    counts: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]], spec: Mapping[str, Any],
                     seconds: float) -> PseudoQueries:
        from rankify_lite.distill.pseudo_queries import QUERY_PREFIX

        queries: dict[str, Query] = {}
        qrels: dict[str, dict[str, int]] = {}
        empty = 0
        out_tokens = 0
        for rec in records:
            out_tokens += int(rec.get("output_tokens", 0))
            if not rec["text"]:
                empty += 1
                continue
            qid = f"{QUERY_PREFIX}{rec['doc']}"
            queries[qid] = Query(qid, rec["text"])
            qrels[qid] = {rec["doc"]: 1}
        counts = {"passages": len(records), "generated": len(queries),
                  "dropped_empty": empty, "generation_seconds": round(seconds, 3),
                  "queries_per_second": round(len(records) / seconds, 3) if seconds else None,
                  "output_tokens": out_tokens}
        return cls(Queries(queries), Qrels(qrels), dict(spec), counts)

    def __len__(self) -> int:
        return len(self.queries)

    def source(self, qid: str) -> str:
        return next(iter(self.qrels[qid]))

    def filtered(self, run: Run, k: int, by: str | None = None) -> PseudoQueries:
        """Only the queries whose source passage is in ``run``'s top ``k`` (``by`` names the
        ranker in the spec; default: the run's name)."""
        if k < 1:
            raise InputError(f"filter depth k={k} keeps nothing.", fix="pass k >= 1, e.g. 10.")
        missing = [q for q in self.queries if q not in run]
        if len(missing) == len(self.queries):
            raise InputError(f"the filter run {run.name!r} has none of the pseudo-queries.",
                             fix="retrieve with these queries (pseudo.queries) first.")
        keep = [q for q in self.queries
                if q in run and self.source(q) in run[q].top(k).doc_ids]
        counts = {**self.counts, "filter": {"by": by or run.name, "k": int(k),
                                            "kept": len(keep), "of": len(self.queries)}}
        return PseudoQueries(Queries({q: self.queries[q] for q in keep}),
                             self.qrels.restrict(keep), self.spec, counts)

    def split(self, share: float, seed: int = 42) -> tuple[PseudoQueries, PseudoQueries]:
        """(train, held out): a seeded ``share`` of the queries held out for validation."""
        import random

        qids = sorted(self.queries)
        random.Random(f"pseudo-split-{seed}").shuffle(qids)
        held = set(qids[:round(share * len(qids))])

        def part(keep: list[str], what: str) -> PseudoQueries:
            return PseudoQueries(Queries({q: self.queries[q] for q in keep}),
                                 self.qrels.restrict(keep), self.spec,
                                 {**self.counts, "part": what, "queries": len(keep)})

        return (part([q for q in self.queries if q not in held], "train"),
                part([q for q in self.queries if q in held], "held out"))

    def describe(self) -> dict[str, Any]:
        """What goes into a run's or a student's metadata."""
        return {**self.spec, "counts": dict(self.counts)}

    def save(self, folder: str | Path, corpus: Corpus, overwrite: bool = False) -> Path:
        """Write the set as a BEIR folder (see the module docstring) and return it."""
        from rankify_lite.io.files import atomic_write
        from rankify_lite.io.output_folder import check_output_folder

        folder = Path(folder)
        if not len(self.queries):
            f = self.counts.get("filter")
            why = (f"the filter ({f['by']} top {f['k']}) kept none of {f['of']}" if f else
                   f"all {self.counts.get('passages', 0)} generations were empty")
            raise InputError(f"no pseudo-query is left to save: {why}.",
                             fix="use a stronger generator, another --style, or a deeper or "
                                 "no filter (--filter-k, --filter-retriever).")
        check_output_folder(folder, FILES, previous=_previous, overwrite=overwrite,
                            what="pseudo-query set")
        missing = [d for q in self.qrels for d in self.qrels[q] if d not in corpus]
        if missing:
            raise InputError(f"{len(missing)} source passages are not in the corpus, e.g. "
                             f"{missing[:3]}.", fix="save with the corpus the queries came from.")
        (folder / "qrels").mkdir(parents=True, exist_ok=True)
        with atomic_write(folder / "corpus.jsonl") as fh:
            for doc in corpus.values():
                fh.write(json.dumps({"_id": doc.id, "title": doc.title, "text": doc.text},
                                    ensure_ascii=False) + "\n")
        with atomic_write(folder / "queries.jsonl") as fh:
            for q in self.queries.values():
                fh.write(json.dumps({"_id": q.id, "text": q.text}, ensure_ascii=False) + "\n")
        with atomic_write(folder / "qrels" / "train.tsv") as fh:
            fh.write("query-id\tcorpus-id\tscore\n")
            for qid, docs in self.qrels.items():
                for doc_id, rel in docs.items():
                    fh.write(f"{qid}\t{doc_id}\t{rel}\n")
        with atomic_write(folder / "collection.yaml") as fh:
            fh.write("# pseudo-queries generated by rankify-lite (see pseudo_queries.json)\n"
                     "rel_level: 1\nself_hits: keep\nsplit: train\n"
                     "metrics: [ndcg@10, recall@100, recall@1000]\n"
                     "convention: \"pseudo-queries: the source passage is the one relevant "
                     "document\"\n")
        with atomic_write(folder / SPEC_FILE) as fh:
            json.dump({**self.describe(), "files": list(FILES)}, fh, indent=2, sort_keys=True)
        return folder


def _previous(folder: Path) -> frozenset[str] | None:
    spec = folder / SPEC_FILE
    if not spec.is_file():
        return None
    try:
        files = json.loads(spec.read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError):
        return None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return frozenset(f for f in files if f in FILES)
