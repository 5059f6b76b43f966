"""Training examples from a teacher run: labels follow the teacher's scores exactly, triplets put
the teacher's preferred document first, lists keep the teacher's order, bad input is refused."""

from __future__ import annotations

import math
import statistics

import pytest
from helpers.synthetic import synthetic_task

from rankify_lite.distill import DistillConfig, build_examples, teacher_labels
from rankify_lite.errors import InputError
from rankify_lite.types import Corpus, Document, Queries, Run


def test_label_transforms_on_known_scores():
    scores = [10.0, 6.0, 4.0, 0.0]
    mean, std = 5.0, statistics.pstdev(scores)
    assert teacher_labels(scores, "raw") == scores
    assert teacher_labels(scores, "zscore") == pytest.approx([(s - mean) / std for s in scores])
    assert teacher_labels(scores, "minmax") == pytest.approx([1.0, 0.6, 0.4, 0.0])
    assert teacher_labels(scores, "reciprocal-rank") == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4])
    assert teacher_labels(scores, "minmax", scale=2.0) == pytest.approx([2.0, 1.2, 0.8, 0.0])
    # equal scores carry no preference: zero labels, not a division by zero
    assert teacher_labels([3.0, 3.0], "zscore") == [0.0, 0.0]
    assert teacher_labels([3.0, 3.0], "minmax") == [0.0, 0.0]


def test_triplets_carry_the_teacher_margin():
    queries, corpus, teacher = synthetic_task(n_queries=3, docs_per_query=10)
    cfg = DistillConfig(loss="margin-mse", pairs_per_query=20, seed=1)
    ex = build_examples(teacher, queries, corpus, cfg)
    assert ex.kind == "triplets" and len(ex) == 60
    assert list(ex.columns) == ["query", "positive", "negative", "label"]  # order the loss reads
    # independently: text -> z-scored teacher score, per query
    zs = {}
    for qid in teacher:
        rl = teacher[qid]
        mean, std = statistics.fmean(rl.scores), statistics.pstdev(rl.scores)
        for d, s in zip(rl.doc_ids, rl.scores, strict=True):
            zs[(queries[qid].text, corpus[d].text)] = (s - mean) / std
    for q, pos, neg, label in zip(*ex.columns.values(), strict=True):
        assert zs[(q, pos)] > zs[(q, neg)]                       # teacher prefers the positive
        assert label == pytest.approx(zs[(q, pos)] - zs[(q, neg)])
    assert ex.queries_used == ("q0", "q1", "q2") and not ex.skipped


def test_lists_keep_teacher_order_and_depth():
    queries, corpus, teacher = synthetic_task(n_queries=2, docs_per_query=10)
    cfg = DistillConfig(loss="lambda", depth=6, list_size=4, lists_per_query=3)
    ex = build_examples(teacher, queries, corpus, cfg)
    assert ex.kind == "lists" and len(ex) == 6
    assert cfg.label_transform == "minmax"                      # LambdaLoss gains must be >= 0
    top6 = {queries[q].text: [corpus[d].text for d in teacher[q].doc_ids[:6]] for q in teacher}
    for q, docs, labels in zip(*ex.columns.values(), strict=True):
        assert len(docs) == len(labels) == 4
        positions = [top6[q].index(d) for d in docs]             # only the top `depth`
        assert positions == sorted(positions)
        assert labels == sorted(labels, reverse=True)
        assert all(0.0 <= v <= 1.0 for v in labels)


def test_same_seed_same_examples_other_seed_other_examples():
    queries, corpus, teacher = synthetic_task()
    a = build_examples(teacher, queries, corpus, DistillConfig(seed=3))
    b = build_examples(teacher, queries, corpus, DistillConfig(seed=3))
    c = build_examples(teacher, queries, corpus, DistillConfig(seed=4))
    assert a.columns == b.columns and a.columns != c.columns


def test_queries_with_one_candidate_are_skipped_and_reported():
    queries = Queries.from_dict({"a": "cells", "b": "gene"})
    corpus = Corpus.from_documents([Document("d1", "cells"), Document("d2", "gene cells")])
    teacher = Run.from_scores({"a": {"d1": 2.0, "d2": 1.0}, "b": {"d2": 5.0}}, name="t")
    ex = build_examples(teacher, queries, corpus, DistillConfig(pairs_per_query=2))
    assert ex.queries_used == ("a",) and "b" in ex.skipped and len(ex) == 2
    lonely = Run.from_scores({"b": {"d2": 5.0}}, name="t")
    with pytest.raises(InputError, match="2 or more candidates"):
        build_examples(lonely, queries, corpus, DistillConfig())


def test_teacher_must_match_queries_and_corpus():
    queries, corpus, teacher = synthetic_task(n_queries=2)
    with pytest.raises(InputError, match=r"not in the queries.*Fix: load the queries"):
        build_examples(teacher, Queries.from_dict({"q0": "x"}), corpus, DistillConfig())
    bad = Run.from_scores({"q0": {"q0-d0": 1.0, "nowhere": 0.5}}, name="t")
    with pytest.raises(InputError, match=r"not in the corpus, e.g. \['nowhere'\]"):
        build_examples(bad, queries, corpus, DistillConfig())


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "mse-ish"}, "unknown distillation loss.*margin-mse"),
    ({"labels": "softmax"}, "unknown label transform"),
    ({"list_size": 1}, "list_size '1' is out of range: it must be a whole number >= 2"),
    ({"depth": 0}, "depth '0' is out of range: it must be a whole number >= 1"),
    ({"max_steps": 0}, "max_steps '0' is out of range.*Fix: pass max_steps >= 1"),
    ({"label_scale": float("nan")}, "label_scale 'nan' is not finite"),
    ({"learning_rate": float("inf")}, "learning_rate 'inf' is not finite"),
    ({"epochs": -1.0}, "epochs '-1.0' is out of range"),
    ({"seed": 2**40}, "seed '1099511627776' is out of range"),
    ({"batch_size": 2.5}, "batch_size '2.5' is not a whole number"),
    ({"patience": True}, "patience must be a whole number >= 1, got bool"),
    ({"warmup_ratio": 1.0}, r"warmup_ratio '1.0' is out of range: it must be a number in \[0, 1\)"),
    ({"validation_queries": "0.2"}, "validation_queries is quoted text"),
])
def test_config_refuses_impossible_settings(kwargs, match):
    with pytest.raises(InputError, match=match):
        DistillConfig(**kwargs)


def test_every_numeric_setting_has_a_declared_rule():
    """DistillConfig.NUMBERS is what the CLI's types and __post_init__ both read: a numeric
    field missing from it would be unchecked (label_scale nan passed 'label_scale <= 0')."""
    import dataclasses

    from rankify_lite.distill.config import NUMBERS

    numeric = {f.name for f in dataclasses.fields(DistillConfig)
               if f.type in ("int", "float", "int | None", "float | None")}
    assert numeric == set(NUMBERS)
    assert DistillConfig(batch_size=4.0, label_scale=2).batch_size == 4  # normalised to int
    assert isinstance(DistillConfig(batch_size=4.0).batch_size, int)


def test_config_round_trips_with_resolved_labels():
    cfg = DistillConfig(loss="listnet", learning_rate=1e-4)
    d = cfg.as_dict()
    assert d["labels"] == "zscore" and d["loss"] == "listnet"
    assert DistillConfig.from_dict(d) == cfg.resolved()
    with pytest.raises(InputError, match="unknown distillation settings: lr"):
        DistillConfig.from_dict({"lr": 1})
    assert math.isclose(DistillConfig.from_dict(d).learning_rate, 1e-4)


def test_a_teacher_sharing_no_query_names_ids_of_both_sides():
    """Issue #38, item 7: not 'has no queries' but a few ids from each side, through the
    restriction the command line applies and through build_examples alike."""
    from rankify_lite.distill.data import teacher_for

    queries, corpus, teacher = synthetic_task(n_queries=5, docs_per_query=4)
    other = Run({f"Q-{q}": rl for q, rl in teacher.items()}, name="other-split")
    for call in (lambda: teacher_for(other, queries),
                 lambda: build_examples(other, queries, corpus,
                                        DistillConfig(label_scale=1.0))):
        with pytest.raises(InputError) as err:
            call()
        message = str(err.value)
        assert "shares no query id" in message and "has no queries" not in message
        assert "['Q-q0', 'Q-q1', 'Q-q2'] (5 in all)" in message
        assert "['q0', 'q1', 'q2'] (5 in all)" in message and "\n" not in message
    few = Run({"x": teacher["q0"]}, name="one")
    with pytest.raises(InputError, match=r"the run has \['x'\], the queries \['q0'"):
        teacher_for(few, queries)
    # sharing some: restricted to them; an empty run is still 'has no queries'
    half = Run({**{q: teacher[q] for q in ("q1", "q3")}, "zz": teacher["q0"]}, name="half")
    assert list(teacher_for(half, queries)) == ["q1", "q3"]
    with pytest.raises(InputError, match="has no queries"):
        build_examples(Run({}, name="empty"), queries, corpus, DistillConfig(label_scale=1.0))


def _judged_task():
    """The synthetic task with one judged document per query, placed mid-pool (rank 4)."""
    from rankify_lite.types import Qrels

    queries, corpus, teacher = synthetic_task(n_queries=3, docs_per_query=10)
    qrels = Qrels({q: {teacher[q].doc_ids[3]: 1} for q in teacher})
    return queries, corpus, teacher, qrels


def test_judged_triplets_take_the_qrels_positive_and_the_teacher_margin():
    queries, corpus, teacher, qrels = _judged_task()
    cfg = DistillConfig(loss="margin-mse", negatives="judged", pairs_per_query=30, seed=2)
    ex = build_examples(teacher, queries, corpus, cfg, qrels)
    assert len(ex) == 90 and not ex.skipped
    zs, judged = {}, {}
    for qid in teacher:
        rl = teacher[qid]
        mean, std = statistics.fmean(rl.scores), statistics.pstdev(rl.scores)
        judged[queries[qid].text] = corpus[next(iter(qrels[qid]))].text
        for d, s in zip(rl.doc_ids, rl.scores, strict=True):
            zs[(queries[qid].text, corpus[d].text)] = (s - mean) / std
    signs = set()
    for q, pos, neg, label in zip(*ex.columns.values(), strict=True):
        assert pos == judged[q] and neg != pos              # the judged document, always
        assert label == pytest.approx(zs[(q, pos)] - zs[(q, neg)])
        signs.add(label > 0)
    assert signs == {True, False}   # negatives the teacher prefers give negative margins


def test_judged_ways_and_what_is_skipped_or_refused():
    from rankify_lite.types import Qrels

    queries, corpus, teacher, qrels = _judged_task()
    cfg = DistillConfig(student_kind="bi-encoder", loss="distill-kl", negatives="judged",
                        ways=4, pairs_per_query=3, label_scale=1.0)
    ex = build_examples(teacher, queries, corpus, cfg, qrels)
    for _q, pos, *negs, labels in zip(*ex.columns.values(), strict=True):
        assert len(negs) == 4 and pos not in negs and len(labels) == 5
    # a query whose judged document the teacher never retrieved is skipped, with the reason
    missing = Qrels({**{q: dict(qrels[q]) for q in qrels}, "q0": {"elsewhere": 1}})
    ex = build_examples(teacher, queries, corpus, cfg, missing)
    assert ex.skipped == {"q0": "no judged-relevant document among its candidates"}
    with pytest.raises(InputError, match="takes its positives from the training queries' qrels"):
        build_examples(teacher, queries, corpus, cfg)
    with pytest.raises(InputError, match="reads whole lists"):
        DistillConfig(loss="ranknet", negatives="judged")
