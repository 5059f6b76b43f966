"""ir_measures names in our evaluator, cross-checked against the real ir-measures package on
every shipped run (DL19, DL20 with rel=2 for the binary measures; SciFact) to 1e-6."""

from __future__ import annotations

import pytest

from rankify_lite.errors import InputError
from rankify_lite.evaluation import evaluate, parse_metric
from rankify_lite.evaluation.measure_names import ir_measures_name
from rankify_lite.io.trec import read_qrels, read_run
from rankify_lite.types import Qrels, Run

# every measure our evaluator computes, in ir_measures' own spelling (no rel: the collection's)
MEASURES = ["nDCG@10", "nDCG@20", "nDCG@100", "nDCG", "AP", "AP@100", "AP@1000", "R@10",
            "R@100", "R@1000", "RR", "RR@10", "P@1", "P@5", "P@10", "P@20", "R(rel=1)@100",
            "AP(rel=1)", "RR(rel=1)@10", "P(rel=1)@10"]
DL_RUNS = ["bm25", "bm25-rm3", "splade-pp-ed", "tas-b", "openai-ada2"]
CASES = ([("trec-dl/dl19-passage", f"run.{r}.top100.trec", 2) for r in DL_RUNS]
         + [("trec-dl/dl20-passage", f"run.{r}.top100.trec", 2) for r in DL_RUNS]
         + [("beir/scifact", f"anserini-bm25-{f}.top1000.trec.gz", 1)
            for f in ("flat", "multifield")])


@pytest.mark.parametrize("name,ours", [
    ("nDCG@10", "ndcg@10"), ("NDCG@10", "ndcg@10"), ("nDCG", "ndcg"),
    ("R(rel=2)@1000", "recall@1000-l2"), ("Recall(rel=2)@100", "recall@100-l2"),
    ("AP(rel=2)", "map-l2"), ("MAP(rel=2)@1000", "map@1000-l2"), ("AP", "map"),
    ("RR@10", "mrr@10"), ("MRR(rel=2)", "mrr-l2"), ("P(rel=2)@10", "precision@10-l2"),
    ("R(cutoff=100, rel=2)", "recall@100-l2"), ("nDCG(dcg='log2')@10", "ndcg@10"),
    ("AP(judged_only=False)", "map"), ("R(rel=0)@5", "recall@5-l0"),
])
def test_ir_measures_names_parse_to_our_metrics(name, ours):
    assert parse_metric(name) == parse_metric(ours)
    assert parse_metric(name).name == ours


@pytest.mark.parametrize("name,why", [
    ("ndcg@99999999999999999999", "out of range"), ("nDCG@10000001", "out of range"),
    ("R(cutoff=99999999999999999999)", "out of range"), ("recall_10000001", "out of range"),
    ("ndcg@\u0661\u0660", "unknown metric"), ("R()@\u0661\u0660", "unknown ir_measures"),
    ("R(cutoff=\u0661\u0660)", "not a whole number"), ("P(rel=\u0662)@10", "not a whole number"),
    ("P(rel=99999999999999999999)@10", "out of range"), ("map-l99999999999999999999", "range"),
    ("ndcg@000", "cut-off 0"), ("RR@00", "cut-off 0"),
])
def test_cutoffs_and_levels_are_bounded_ascii_whole_numbers(name, why):
    """A huge cut-off used to reach ranx's kernel ('Int value is too large')."""
    with pytest.raises(InputError) as err:
        parse_metric(name)
    assert why in str(err.value) and "Fix:" in str(err.value)
    assert parse_metric("ndcg@10000000").k == 10**7 and parse_metric("R(cutoff=7)").k == 7


@pytest.mark.parametrize("name,why", [
    ("nDCG(judged_only=True)@10", "judged_only=True"), ("nDCG(dcg='exp-log2')@10", "exp-log2"),
    ("nDCG(rel=2)@10", "rel=2"), ("R(rel=2)", "needs a cut-off"),
    ("P(rel=x)@10", "rel 'x' is not a whole number"),
    ("ERR@10", "unknown metric"), ("ERR(rel=2)@10", "unknown ir_measures"), ("R(rel=2)@0", "cut-off 0"),
    ("R(cutoff=10)@100", "two different cut-offs"), ("AP(rel)", "cannot read"),
])
def test_unsupported_ir_measures_names_are_refused_with_the_fix(name, why):
    with pytest.raises(InputError) as err:
        parse_metric(name)
    assert why in str(err.value) and "Fix:" in str(err.value)


def test_a_name_without_rel_uses_the_evaluations_level_and_rel_overrides_it():
    qrels = Qrels({"q": {"a": 1, "b": 2}})
    run = Run.from_rankings({"q": ["a", "x", "b"]})
    at2 = evaluate(run, qrels, ["R@1", "R(rel=1)@1", "AP"], rel_level=2)
    assert at2["R@1"] == 0.0                 # level 2: only b counts, and b is at rank 3
    assert at2["R(rel=1)@1"] == 0.5          # level 1 forced: a counts
    assert at2["AP"] == pytest.approx(1 / 3)
    assert at2.mean["recall@1-l1"] == 0.5    # keyed by our name


def test_ir_measures_name_round_trips():
    for name in MEASURES:
        for level in (1, 2):
            metric = parse_metric(name)
            back = parse_metric(ir_measures_name(metric, level))
            effective = metric.rel_level if metric.rel_level is not None else level
            assert back.family == metric.family and back.k == metric.k
            if metric.family != "ndcg":
                assert (back.rel_level or 1) == effective
    assert ir_measures_name("recall@100", 2) == "R(rel=2)@100"
    assert ir_measures_name("ndcg@10", 2) == "nDCG@10"
    assert ir_measures_name("map", 1) == "AP"


def test_ir_measures_objects_are_accepted():
    ir_measures = pytest.importorskip("ir_measures")
    assert parse_metric(ir_measures.R(rel=2) @ 1000).name == "recall@1000-l2"
    assert parse_metric(ir_measures.nDCG @ 10).name == "ndcg@10"
    assert parse_metric(ir_measures.RR(rel=2)).name == "mrr-l2"


@pytest.mark.parametrize("folder,run_file,level", CASES)
def test_agrees_with_ir_measures_on_every_shipped_run(shared_data, folder, run_file, level):
    ir_measures = pytest.importorskip("ir_measures")
    run = read_run(shared_data / folder / "runs" / run_file)
    qrels = read_qrels(shared_data / folder / "qrels" / "test.tsv")
    ours = evaluate(run, qrels, MEASURES, rel_level=level)
    theirs = {ir_measures_name(m, level): m for m in MEASURES}
    parsed = [ir_measures.parse_measure(n) for n in theirs]
    seen: dict[tuple[str, str], float] = {}
    for row in ir_measures.iter_calc(parsed, qrels.to_dict(), run.to_dict()):
        seen[(str(row.measure), row.query_id)] = row.value
    judged_in_run = {q for q in qrels if q in run}
    for name, ours_name in theirs.items():
        key = parse_metric(ours_name).name
        qids = {q for (m, q) in seen if m == name}
        assert qids == judged_in_run, name
        for qid in qids:
            assert ours.per_query[key][qid] == pytest.approx(seen[(name, qid)], abs=1e-6), \
                (run_file, name, qid)
        for qid in set(qrels) - judged_in_run:          # trec_eval -c: missing queries score 0
            assert ours.per_query[key][qid] == 0.0
    mean = ir_measures.calc_aggregate(parsed, qrels.to_dict(), run.to_dict())
    if judged_in_run == set(qrels):
        for name, ours_name in theirs.items():
            assert ours[ours_name] == pytest.approx(mean[ir_measures.parse_measure(name)],
                                                    abs=1e-6), name
    if folder.startswith("trec-dl"):                   # DL's published nDCG@10 under both names
        assert ours["nDCG@10"] == pytest.approx(mean[ir_measures.nDCG @ 10], abs=1e-6)
