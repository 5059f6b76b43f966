"""Pre-retrieved files (rank_llm's retrieve_results, Rankify's question + ctxs) written from the
bundled DL19 data load into a Dataset whose first stage is the file's run: the same run, the
same nDCG@10 as the TREC run, reranked and evaluated like any dataset; bad files are refused in
one line naming the file, the line and the record."""

from __future__ import annotations

import gzip
import json

import pytest

from rankify_lite import load_dataset
from rankify_lite.datasets import load_pre_retrieved
from rankify_lite.datasets.pre_retrieved import RUN_NAME
from rankify_lite.errors import InputError
from rankify_lite.evaluation import evaluate
from rankify_lite.pipeline import Pipeline
from rankify_lite.rerankers import load_reranker

BM25_NDCG10 = 0.5058  # DL19 BM25 top-100 (the bundled run; Anserini / rank_llm)


@pytest.fixture(scope="module")
def dl19():
    ds = load_dataset("dl19")
    return ds, ds.load_run("bm25.top100")


def rank_llm_records(ds, run):
    """rank_llm's Request records: query {text, qid}, candidates {docid, score, doc}."""
    return [{"query": {"text": ds.queries[q].text, "qid": q},
             "candidates": [{"docid": d, "score": s, "doc": {"contents": ds.corpus[d].text}}
                            for d, s in zip(rl.doc_ids, rl.scores, strict=True)]}
            for q, rl in run.items()]


def rank_llm_hits_records(ds, run):
    """rank_llm's first retrieve_results format: query text, hits with qid/docid/rank/score."""
    return [{"query": ds.queries[q].text,
             "hits": [{"content": ds.corpus[d].text, "qid": q, "docid": d, "rank": i,
                       "score": s} for i, (d, s) in enumerate(zip(rl.doc_ids, rl.scores, strict=True), 1)]}
            for q, rl in run.items()]


def rankify_records(ds, run, with_ids=True):
    """Rankify's Document records: question, answers, ctxs {id, title, text, score, has_answer}."""
    out = []
    for q, rl in run.items():
        rec = {"question": ds.queries[q].text, "answers": [],
               "ctxs": [{"id": d, "title": ds.corpus[d].title, "text": ds.corpus[d].text,
                         "score": s, "has_answer": ds.qrels.get(q, {}).get(d, 0) >= 2}
                        for d, s in zip(rl.doc_ids, rl.scores, strict=True)]}
        if with_ids:
            rec["query_id"] = q
        out.append(rec)
    return out


def write(path, records, jsonl=False):
    if jsonl:
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        path.write_text(json.dumps(records, indent=2))
    return path


WRITERS = {"rank_llm": rank_llm_records, "rank_llm-hits": rank_llm_hits_records,
           "rankify": rankify_records}


@pytest.mark.parametrize("jsonl", [False, True], ids=["json", "jsonl"])
@pytest.mark.parametrize("kind", list(WRITERS))
def test_both_formats_give_the_trec_run_and_its_ndcg(dl19, tmp_path, kind, jsonl):
    ds, run = dl19
    path = write(tmp_path / f"dl19.{'jsonl' if jsonl else 'json'}", WRITERS[kind](ds, run), jsonl)
    pre = load_pre_retrieved(path, qrels=ds.qrels)
    assert pre.metadata["format"] == f"pre-retrieved/{kind.split('-')[0]}"
    got = pre.load_run(RUN_NAME)
    assert got.to_dict() == run.to_dict() and got.content_hash() == run.content_hash()
    assert got.metadata["scores"] == "file"
    assert list(pre.queries) == list(run) and len(pre.corpus) == len({d for rl in run.values()
                                                                      for d in rl.doc_ids})
    for d in run["19335"].doc_ids:
        assert pre.corpus[d] == ds.corpus[d]
    assert pre.rel_level == 2  # TREC DL's rules, found from the qrels' query ids
    ndcg = evaluate(got, pre.qrels, ["ndcg@10"], pre.rel_level).mean["ndcg@10"]
    assert round(ndcg, 4) == BM25_NDCG10


def test_qrels_file_and_load_dataset_path(dl19, tmp_path):
    ds, run = dl19
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("".join(f"{q} 0 {d} {g}\n" for q, docs in ds.qrels.items()
                             for d, g in docs.items()))
    path = write(tmp_path / "retrieve_results_dl19_top100.json", rank_llm_records(ds, run))
    assert load_pre_retrieved(path, qrels=qrels).qrels.to_dict() == ds.qrels.to_dict()
    gz = tmp_path / "dl19.jsonl.gz"
    gz.write_bytes(gzip.compress("".join(json.dumps(r) + "\n"
                                         for r in rankify_records(ds, run)).encode()))
    for p in (path, gz):
        loaded = load_dataset(p)
        assert loaded.load_run(RUN_NAME).to_dict() == run.to_dict()
        assert loaded.qrels.num_judgments == 0  # no qrels given: reranks, metrics need qrels
        assert loaded.metadata["relevance"] == "none (metrics need qrels=)"


def test_identity_rerank_keeps_the_first_stage_ndcg(dl19, tmp_path):
    ds, run = dl19
    pre = load_pre_retrieved(write(tmp_path / "r.json", rankify_records(ds, run)), qrels=ds.qrels)
    result = Pipeline(f"run:{RUN_NAME}", load_reranker("identity"), depth=100, cache=False,
                      progress=False).run(pre)
    first, reranked = result.metrics[RUN_NAME], result.metrics[f"{RUN_NAME}>>identity"]
    assert round(first["ndcg@10"], 4) == round(reranked["ndcg@10"], 4) == BM25_NDCG10


def test_cli_run_on_a_pre_retrieved_file(dl19, tmp_path, capsys):
    from rankify_lite.cli.main import main

    ds, run = dl19
    path = write(tmp_path / "retrieve_results_dl19.json", rank_llm_records(ds, run))
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{g}\n" for q, docs in ds.qrels.items() for d, g in docs.items()))
    out = tmp_path / "out"
    # no --retriever: a pre-retrieved file's first stage is its own run, not a new BM25 index
    args = ["run", "--dataset", str(path), "--reranker", "identity", "--depth", "100",
            "--no-cache", "-m", "ndcg@10", "--json"]
    assert main([*args, "--qrels", str(qrels), "--output", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    scores = json.dumps(printed)
    assert printed["pipeline"]["retriever"] == {"family": "shipped-run", "name": RUN_NAME}
    assert f"{BM25_NDCG10}" in scores or f"{BM25_NDCG10:.4f}" in scores, scores[:400]
    saved = (out / f"{RUN_NAME}__identity.trec").read_text().splitlines()
    ranked: dict[str, list[str]] = {}
    for line in saved:
        ranked.setdefault(line.split()[0], []).append(line.split()[2])
    assert ranked == {q: list(rl.doc_ids) for q, rl in run.items()}  # identity: the file's order
    # without judgments: one line before anything is computed, saying what to give
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no relevance judgments" in err and "--qrels" in err
    assert main(["run", "--dataset", "dl19", "--qrels", str(qrels)]) == 2
    assert "--qrels goes with a pre-retrieved" in capsys.readouterr().err


def test_rankify_without_ids_gets_index_ids_and_answer_relevance(dl19, tmp_path):
    ds, run = dl19
    path = write(tmp_path / "r.json", rankify_records(ds, run, with_ids=False))
    pre = load_pre_retrieved(path, relevance_from_answers=True)
    assert list(pre.queries) == [str(i) for i in range(len(run))]
    assert pre.metadata["query_ids"].startswith("assigned")
    first_q = next(iter(run))
    assert pre.queries["0"].text == ds.queries[first_q].text
    assert pre.qrels.relevant("0") == ds.qrels.relevant(first_q, 2) & set(run[first_q].doc_ids)
    assert pre.metadata["relevance"] == "has_answer"
    with pytest.raises(InputError, match="rank_llm file does not hold"):
        load_pre_retrieved(write(tmp_path / "l.json", rank_llm_records(ds, run)),
                           relevance_from_answers=True)


def test_non_monotone_scores_are_derived_from_rank(dl19, tmp_path):
    ds, run = dl19
    records = rank_llm_records(ds, run)
    records[3]["candidates"][5]["score"] = 1e6  # rises down the list
    pre = load_pre_retrieved(write(tmp_path / "r.json", records), qrels=ds.qrels)
    got = pre.load_run(RUN_NAME)
    assert got.metadata["scores"] == "from-rank"
    assert "rises" in got.metadata["scores_from_rank_because"]
    assert {q: list(rl.doc_ids) for q, rl in got.items()} == {
        r["query"]["qid"]: [c["docid"] for c in r["candidates"]] for r in records}  # file order
    assert got[records[0]["query"]["qid"]].scores[:3] == (100.0, 99.0, 98.0)


def _refusal(tmp_path, records, *match):
    path = write(tmp_path / "bad.json", records)
    with pytest.raises(InputError) as info:
        load_pre_retrieved(path)
    msg = str(info.value)
    assert len(msg.splitlines()) == 1 and msg.startswith(f"{path}:") and "Fix:" in msg
    for m in match:
        assert m in msg, msg
    return msg


def test_malformed_files_are_refused_in_one_line(dl19, tmp_path):
    ds, run = dl19
    small = run.top(3)
    recs = rank_llm_records(ds, small)
    del recs[2]["candidates"][1]["doc"]["contents"]
    _refusal(tmp_path, recs, "record 2:", "candidate 1", "passage keys")
    recs = rank_llm_records(ds, small)
    recs[1]["candidates"][0]["score"] = "12.5"
    _refusal(tmp_path, recs, "record 1:", "quoted text")
    recs = rank_llm_records(ds, small)
    recs[0]["candidates"][2]["docid"] = recs[0]["candidates"][0]["docid"]
    _refusal(tmp_path, recs, "record 0:", "appears twice")
    recs = rank_llm_records(ds, small)
    recs[1]["query"]["qid"] = 3.5
    _refusal(tmp_path, recs, "record 1:", "not a whole number")
    recs = rankify_records(ds, small)
    del recs[1]["ctxs"][0]["text"]
    _refusal(tmp_path, recs, "record 1:", "ctx 0 has no 'text'", "save_text=True")
    recs = rankify_records(ds, small)
    del recs[2]["query_id"]
    _refusal(tmp_path, recs, "record 2 has no query id")
    recs = rankify_records(ds, small)
    recs[0]["ctxs"][0]["id"] = "a b"
    _refusal(tmp_path, recs, "whitespace")
    recs = rank_llm_hits_records(ds, small)
    recs[0]["hits"][1]["rank"] = 1
    _refusal(tmp_path, recs, "not in rank order")
    _refusal(tmp_path, [{"query": {"text": "q", "qid": "1"}, "candidates": ["d1"]}],
             "record 0: candidate 0 is a JSON str, not an object")
    _refusal(tmp_path, [{"question": "q", "ctxs": [{"id": "d", "text": "t", "score": 1e400}]}],
             "ctx 0's score 'inf' is not finite")
    msg = _refusal(tmp_path, [{"queries": "x"}], "record 0 is neither rank_llm")
    assert "queries" in msg
    # the line of the record is named: record 1 starts after record 0's lines
    recs = rank_llm_records(ds, small)
    recs[1]["candidates"][0]["doc"] = "text"
    msg = _refusal(tmp_path, recs, "record 1:")
    line = int(msg.split(":")[1])
    starts = [i for i, t in enumerate(json.dumps(recs, indent=2).splitlines(), 1) if t == "  {"]
    assert line == starts[1] > 1


def test_broken_json_is_refused_with_its_line(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text('[\n  {"query": "q", "hits": []},\n  {"query": ')
    with pytest.raises(InputError, match=r"cut.json:3: record 1 is not valid JSON"):
        load_pre_retrieved(path)
    path.write_text("[]")
    with pytest.raises(InputError, match="holds no records"):
        load_pre_retrieved(path)


def test_titles_kept_and_ids_assigned_when_hits_name_no_query(tmp_path):
    beir = [{"query": {"text": "what is x", "qid": 7},
             "candidates": [{"docid": 12, "score": 3.5, "doc": {"title": "X", "text": "x is y"}},
                            {"docid": "d2", "score": 1, "doc": {"segment": "z", "title": None}}]}]
    ds = load_pre_retrieved(write(tmp_path / "b.json", beir))
    assert list(ds.queries) == ["7"] and ds.corpus["12"].title == "X"
    assert (ds.corpus["d2"].text, ds.corpus["d2"].title) == ("z", "")
    assert ds.load_run(RUN_NAME)["7"].scores == (3.5, 1.0)
    rankify = [{"question": "q?", "answers": ["a"], "ctxs": [
        {"id": 5, "title": "T", "text": "t", "score": None, "has_answer": True}]}]
    ds = load_pre_retrieved(write(tmp_path / "r.json", rankify))
    assert ds.corpus["5"].title == "T" and list(ds.queries) == ["0"]
    assert ds.load_run(RUN_NAME).metadata["scores"] == "from-rank"  # Rankify saved no score
    hits = [{"query": "q", "hits": [{"content": "c", "qid": None, "docid": "d", "rank": 1,
                                     "score": 2.0}]}] * 2
    ds = load_pre_retrieved(write(tmp_path / "h.jsonl", hits, jsonl=True))
    assert list(ds.queries) == ["0", "1"] and ds.metadata["query_ids"].startswith("assigned")


def test_rerun_reads_the_recorded_qrels_again(dl19, tmp_path, capsys):
    """A result computed on a pre-retrieved file with --qrels reruns to the same numbers: the
    judgments' path is recorded with the dataset and read again (absolute: allowed because the
    dataset's content hash is recorded and checked); a moved qrels file is one line."""
    from rankify_lite.cli.main import main

    ds, run = dl19
    path = write(tmp_path / "retrieve_results_dl19.json", rank_llm_records(ds, run))
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{g}\n" for q, docs in ds.qrels.items() for d, g in docs.items()))
    out, again = tmp_path / "out", tmp_path / "again"
    assert main(["run", "--dataset", str(path), "--qrels", str(qrels), "--reranker", "identity",
                 "--depth", "20", "--no-cache", "-m", "ndcg@10", "--output", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["dataset"]["qrels_source"] == str(qrels.resolve())
    capsys.readouterr()
    assert main(["rerun", str(out / "meta.json"), "--output", str(again)]) == 0
    first = json.loads((out / "meta.json").read_text())["metrics"]
    second = json.loads((again / "meta.json").read_text())["metrics"]
    assert first == second and f"{BM25_NDCG10}" in json.dumps(first)
    qrels.rename(tmp_path / "moved.tsv")
    capsys.readouterr()
    assert main(["rerun", str(out / "meta.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "judgments this result was scored with" in err
