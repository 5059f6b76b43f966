"""Training examples from a teacher run: each query's top ``depth`` candidates, the teacher's
scores turned into labels, sampled into Margin-MSE triplets, listwise lists or n-way examples
(positive + negatives, with the teacher's scores); negatives random or the teacher's own hard
negatives; a seeded share of the queries held out for validation.

Pure Python and numpy (no torch): the columns returned here go straight into a
``datasets.Dataset`` in :mod:`rankify_lite.distill.train`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rankify_lite.distill.config import DistillConfig
from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, Qrels, Queries, Run


@dataclass(frozen=True)
class TrainingExamples:
    """Columns for the trainer, in the order the loss reads them, plus what was left out."""

    columns: dict[str, list]
    kind: str                                  # "triplets", "lists" or "ways"
    queries_used: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)   # qid -> why

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


def teacher_labels(scores: Sequence[float], transform: str, scale: float = 1.0) -> list[float]:
    """Labels for one query's candidates (given best first) from the teacher's scores."""
    n = len(scores)
    if transform == "raw":
        out = [float(s) for s in scores]
    elif transform == "zscore":
        mean = sum(scores) / n
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / n)
        out = [(s - mean) / std if std > 0 else 0.0 for s in scores]
    elif transform == "minmax":
        lo, hi = min(scores), max(scores)
        out = [(s - lo) / (hi - lo) if hi > lo else 0.0 for s in scores]
    elif transform == "reciprocal-rank":
        out = [1.0 / (i + 1) for i in range(n)]
    else:  # validated by DistillConfig
        raise InputError(f"unknown label transform {transform!r}.", fix="see LABEL_TRANSFORMS.")
    return [scale * v for v in out]


def _some(ids: Iterable[str], n: int = 3) -> str:
    """The first ``n`` of ``ids`` and how many there are: "['1', '2', '3'] (43 in all)"."""
    ids = list(ids)
    return f"{ids[:n]} ({len(ids)} in all)" if len(ids) > n else f"{ids}"


def teacher_for(teacher: Run, queries: Queries) -> Run:
    """``teacher`` restricted to the training ``queries``. A run that shares no query id with
    them (another dataset or split, ids written another way) is refused naming a few ids of
    each side, not reported as a run with no queries."""
    shared = [q for q in teacher if q in queries]
    if len(teacher) and not shared:
        raise InputError(f"the teacher run {teacher.name!r} shares no query id with the "
                         f"training queries: the run has {_some(teacher)}, the queries "
                         f"{_some(queries)}.",
                         fix="use the teacher run made for these queries (the same dataset "
                             "and split), with ids written the same way.")
    return teacher.restrict(shared)


def check_teacher(teacher: Run, queries: Queries, corpus: Corpus) -> None:
    """Every teacher query must have a text and every candidate a document."""
    if not len(teacher):
        raise InputError(f"the teacher run {teacher.name!r} has no queries.",
                         fix="pass a run with candidates for the training queries.")
    missing_q = [q for q in teacher if q not in queries]
    if len(missing_q) == len(teacher):
        teacher_for(teacher, queries)  # shares none: both sides named
    if missing_q:
        raise InputError(f"{len(missing_q)} queries of the teacher run {teacher.name!r} are not in "
                         f"the queries, e.g. {missing_q[:3]}.",
                         fix="load the queries the teacher run was made for.")
    for qid in teacher:
        missing = [d for d in teacher[qid].doc_ids if d not in corpus]
        if missing:
            raise InputError(f"{len(missing)} documents of query {qid!r} in the teacher run "
                             f"{teacher.name!r} are not in the corpus, e.g. {missing[:3]}.",
                             fix="use the corpus the teacher run was retrieved from.")


def build_examples(teacher: Run, queries: Queries, corpus: Corpus,
                   config: DistillConfig, qrels: Qrels | None = None,
                   rel_level: int = 1) -> TrainingExamples:
    """Sample the training examples the configured loss reads (seeded, deterministic).
    ``qrels`` (grade >= ``rel_level`` is relevant) are read only by ``negatives="judged"``."""
    check_teacher(teacher, queries, corpus)
    config = config.resolved()
    if config.negatives == "judged" and qrels is None:
        raise InputError("negatives='judged' takes its positives from the training queries' "
                         "qrels, and none were given.",
                         fix="pass qrels=... (for pseudo-queries: pseudo.qrels), or use "
                             "negatives='hard'.")
    if config.label_scale is None:
        raise InputError("build_examples needs a resolved label_scale (a number).",
                         fix="pass DistillConfig(label_scale=...) or let distill() measure it.")
    rng = random.Random(config.seed)
    transform = config.label_transform
    kind = config.spec.examples
    if kind == "triplets":
        cols: dict[str, list] = {"query": [], "positive": [], "negative": [], "label": []}
    elif kind == "ways":
        cols = {"query": [], "positive": [],
                **{f"negative_{i + 1}": [] for i in range(config.ways)}, "label": []}
    else:
        cols = {"query": [], "docs": [], "labels": []}
    used: list[str] = []
    skipped: dict[str, str] = {}
    for qid in teacher:
        ranked = teacher[qid].top(config.depth)
        if len(ranked) < 2:
            skipped[qid] = f"{len(ranked)} candidate(s); at least 2 are needed"
            continue
        labels = teacher_labels(ranked.scores, transform, config.label_scale)
        texts = [corpus[d].full_text() for d in ranked.doc_ids]
        qtext = queries[qid].text
        if config.negatives == "judged":
            assert qrels is not None
            relevant = qrels.relevant(qid, rel_level)
            judged = [i for i, d in enumerate(ranked.doc_ids) if d in relevant]
            others = [i for i, d in enumerate(ranked.doc_ids) if d not in relevant]
            need = config.ways if kind == "ways" else 1
            if not judged or len(others) < need:
                skipped[qid] = ("no judged-relevant document among its candidates" if not judged
                                else f"{len(others)} non-relevant candidate(s); {need} needed")
                continue
            _add_judged(cols, rng, qtext, texts, labels, judged, others, kind, config)
        elif kind == "triplets":
            _add_triplets(cols, rng, qtext, texts, labels, config)
        elif kind == "ways":
            if len(ranked) < config.ways + 1:
                skipped[qid] = (f"{len(ranked)} candidate(s); a {config.ways}-negative example "
                                f"needs {config.ways + 1}")
                continue
            _add_ways(cols, rng, qtext, texts, labels, config)
        else:
            _add_lists(cols, rng, qtext, texts, labels, config)
        used.append(qid)
    if not used:
        if config.negatives == "judged":
            raise InputError(f"no query of the teacher run {teacher.name!r} gives a judged "
                             f"example: {next(iter(skipped.values()))} (all "
                             f"{len(skipped)} queries).",
                             fix="retrieve deeper (a larger teacher k / depth), rescore with a "
                                 "teacher reranker (it scores every source passage), or filter "
                                 "the pseudo-queries by the same first stage.")
        raise InputError(f"no query of the teacher run {teacher.name!r} has 2 or more candidates "
                         "(or, for n-way losses, ways + 1).",
                         fix="distil from a run with several candidates per query.")
    return TrainingExamples(cols, kind, tuple(used), skipped)


def split_queries(teacher: Run, share: float, seed: int) -> tuple[Run, Run | None]:
    """(training run, validation run): a seeded ``share`` of the teacher's queries held out
    (at least one when ``share`` > 0 and there are two or more queries)."""
    qids = sorted(teacher)
    if share <= 0 or len(qids) < 2:
        return teacher, None
    rng = random.Random(f"validation-{seed}")
    rng.shuffle(qids)
    n_val = min(len(qids) - 1, max(1, round(share * len(qids))))
    val = set(qids[:n_val])
    train = teacher.restrict([q for q in teacher if q not in val])
    return train, teacher.restrict([q for q in teacher if q in val])


def _pick_pair(rng: random.Random, n: int, config: DistillConfig) -> tuple[int, int]:
    """(higher, lower) teacher ranks of one training pair."""
    top = min(config.positives, n - 1)
    if config.negatives == "hard" and top >= 1:
        return rng.randrange(top), rng.randrange(top, n)
    i, j = sorted(rng.sample(range(n), 2))   # i is ranked higher by the teacher
    return i, j


def _add_triplets(cols: dict[str, list], rng: random.Random, qtext: str, texts: list[str],
                  labels: list[float], config: DistillConfig) -> None:
    n = len(texts)
    for _ in range(config.pairs_per_query):
        i, j = _pick_pair(rng, n, config)
        cols["query"].append(qtext)
        cols["positive"].append(texts[i])
        cols["negative"].append(texts[j])
        cols["label"].append(labels[i] - labels[j])


def _add_ways(cols: dict[str, list], rng: random.Random, qtext: str, texts: list[str],
              labels: list[float], config: DistillConfig) -> None:
    """(query, positive, negative_1..n) with the teacher's labels of all n + 1 documents."""
    n, k = len(texts), config.ways
    top = min(config.positives, n - k)
    for _ in range(config.pairs_per_query):
        if config.negatives == "hard" and top >= 1:
            picked = [rng.randrange(top), *sorted(rng.sample(range(top, n), k))]
        else:
            picked = sorted(rng.sample(range(n), k + 1))
        cols["query"].append(qtext)
        cols["positive"].append(texts[picked[0]])
        for m, i in enumerate(picked[1:]):
            cols[f"negative_{m + 1}"].append(texts[i])
        cols["label"].append([labels[i] for i in picked])


def _add_lists(cols: dict[str, list], rng: random.Random, qtext: str, texts: list[str],
               labels: list[float], config: DistillConfig) -> None:
    n = len(texts)
    size = min(config.list_size, n)
    for _ in range(config.lists_per_query):
        picked = sorted(rng.sample(range(n), size))   # keep the teacher's order inside a list
        cols["query"].append(qtext)
        cols["docs"].append([texts[i] for i in picked])
        cols["labels"].append([labels[i] for i in picked])


def _add_judged(cols: dict[str, list], rng: random.Random, qtext: str, texts: list[str],
                labels: list[float], judged: list[int], others: list[int], kind: str,
                config: DistillConfig) -> None:
    """GPL's examples: a judged-relevant positive, negatives from the rest of the pool, the
    teacher's labels (a margin may be negative where the teacher prefers the negative)."""
    for _ in range(config.pairs_per_query):
        pos = rng.choice(judged)
        cols["query"].append(qtext)
        cols["positive"].append(texts[pos])
        if kind == "triplets":
            neg = rng.choice(others)
            cols["negative"].append(texts[neg])
            cols["label"].append(labels[pos] - labels[neg])
        else:
            negs = sorted(rng.sample(others, config.ways))
            for m, i in enumerate(negs):
                cols[f"negative_{m + 1}"].append(texts[i])
            cols["label"].append([labels[i] for i in (pos, *negs)])
