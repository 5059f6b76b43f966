"""Pseudo-query generation (rankify_lite.distill.pseudo_queries / pseudo_set) on the bundled
SciFact corpus: prompts, cleaning, the cache, resuming after a kill, the consistency filter,
and the BEIR folder that load_dataset reads back. A fake engine writes the queries here (it
copies words of the passage it was shown); tests/distill/test_pseudo_llm.py runs real models."""

from __future__ import annotations

import json

import pytest
from helpers.copying_lm import CopyingLM

from rankify_lite import load_dataset
from rankify_lite.distill.pseudo_queries import (
    PseudoQueryConfig,
    choose_passages,
    clean_query,
    first_line_complete,
    generate_pseudo_queries,
    load_style,
)
from rankify_lite.errors import InputError
from rankify_lite.types import Run


@pytest.fixture
def corpus(scifact):
    return scifact.corpus


def test_inpars_prompt_holds_the_cut_passage_and_the_query_is_its_first_line(corpus):
    lm = CopyingLM()
    cfg = PseudoQueryConfig(passages=5, max_passage_tokens=20, batch_size=2)
    pq = generate_pseudo_queries(corpus, lm, cfg, cache=False, progress=False)
    chosen = choose_passages(corpus, cfg)
    assert len(chosen) == 5 and chosen == [d for d in corpus if d in set(chosen)]  # corpus order
    assert sorted(pq.queries) == sorted(f"pq-{d}" for d in chosen)
    template = load_style("inpars")
    for doc_id, prompt in zip(chosen, lm.prompts, strict=True):
        full = corpus[doc_id].full_text()
        cut = lm.decode(lm.encode(full)[:20]).strip()
        assert prompt == template.text("text", passage=cut)      # the template, filled exactly
        assert prompt.count("Relevant Query:") == 4              # 3 examples + the passage's
        query = pq.queries[f"pq-{doc_id}"].text
        assert query == " ".join(cut.split()[:6])                 # first line, quotes stripped
        assert pq.qrels[f"pq-{doc_id}"] == {doc_id: 1}            # its source, and only it
    assert lm.calls == 3                                          # batches of 2
    assert pq.counts["passages"] == 5 and pq.counts["generated"] == 5
    assert pq.spec["prompt"]["name"] == "inpars" and len(pq.spec["prompt"]["sha256"]) == 64
    assert pq.spec["generator"] == lm.config()


def test_doc2query_goes_through_the_chat_template(corpus):
    lm = CopyingLM(words=3)
    pq = generate_pseudo_queries(corpus, lm, PseudoQueryConfig(style="doc2query", passages=2),
                                 cache=False, progress=False)
    assert all(p.startswith("<system>You write search queries.") and p.endswith("</user><a>")
               for p in lm.prompts)
    assert len(pq) == 2


def test_clean_query():
    assert clean_query('\n  Relevant Query: "what is tp53?"\nExample 5:', ["Relevant Query:"]) \
        == "what is tp53?"
    assert clean_query("query:   a   b\tc", ["Query:"]) == "a b c"
    assert clean_query(" \n \n") == ""


def test_first_line_complete_once_the_kept_line_is_ended():
    assert not first_line_complete("") and not first_line_complete(" \n \n")
    assert not first_line_complete("\n  what is tp53")           # the line may still grow
    assert first_line_complete("\n  what is tp53?\n")
    assert first_line_complete("what is tp53?\r\nExample")
    for text in ("a b\n", " \n x\ny", "q\u2028"):     # what follows cannot change the query
        assert first_line_complete(text)
        assert clean_query(text) == clean_query(text + "more words")


def test_an_engine_without_stop_when_decodes_on(corpus):
    from rankify_lite.rerankers.engines.llm_backend import supports_stop_when

    class Stops(CopyingLM):
        def generate(self, prompts, max_new_tokens, min_new_tokens=0, stop_when=None):
            self.stop_when = stop_when
            return super().generate(prompts, max_new_tokens, min_new_tokens)

    assert not supports_stop_when(CopyingLM()) and supports_stop_when(Stops())
    lm = Stops()
    a = generate_pseudo_queries(corpus, lm, PseudoQueryConfig(passages=3), cache=False,
                                progress=False)
    assert lm.stop_when is first_line_complete
    b = generate_pseudo_queries(corpus, CopyingLM(), PseudoQueryConfig(passages=3), cache=False,
                                progress=False)
    assert a.queries == b.queries


def test_empty_generations_are_dropped_and_counted(corpus):
    lm = CopyingLM(empty_every=3)
    pq = generate_pseudo_queries(corpus, lm, PseudoQueryConfig(passages=9), cache=False,
                                 progress=False)
    assert pq.counts["dropped_empty"] == 3 and len(pq) == 6


def test_cached_set_is_read_back_without_generating(corpus):
    cfg = PseudoQueryConfig(passages=6, chunk=4)
    first = generate_pseudo_queries(corpus, CopyingLM(), cfg, progress=False)
    again = CopyingLM()
    second = generate_pseudo_queries(corpus, again, cfg, progress=False)
    assert again.calls == 0 and second.spec["cached"] is True
    assert second.queries == first.queries and second.qrels == first.qrels
    other = CopyingLM(words=2)                          # another engine config: another key
    generate_pseudo_queries(corpus, other, cfg, progress=False)
    assert other.calls > 0


def test_a_killed_generation_resumes_at_its_first_missing_passage(corpus):
    cfg = PseudoQueryConfig(passages=10, chunk=4, batch_size=2, seed=7)
    whole = generate_pseudo_queries(corpus, CopyingLM(), cfg, cache=False, progress=False)
    killed = CopyingLM(fail_after=3)                    # 2 calls = chunk 1; dies in chunk 2
    with pytest.raises(KeyboardInterrupt):
        generate_pseudo_queries(corpus, killed, cfg, progress=False)
    resumed_lm = CopyingLM()
    resumed = generate_pseudo_queries(corpus, resumed_lm, cfg, progress=False)
    assert resumed.spec["resumed_at"] == 4              # chunk 1 was committed
    assert resumed_lm.calls == 3                        # 6 passages left, 2 per call
    assert resumed.queries == whole.queries


def test_a_torn_last_line_is_dropped_on_resume(corpus, tmp_path, monkeypatch):
    from rankify_lite import cache

    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path))
    cfg = PseudoQueryConfig(passages=6, chunk=2, batch_size=2)
    with pytest.raises(KeyboardInterrupt):
        generate_pseudo_queries(corpus, CopyingLM(fail_after=2), cfg, progress=False)
    (partial,) = cache.cache_dir("pseudo-queries").glob("*/.generations.partial.jsonl")
    lines = partial.read_text().splitlines(keepends=True)
    assert len(lines) == 4
    partial.write_text("".join(lines[:3]) + lines[3][:10])   # the kill tore the 4th line
    lm = CopyingLM()
    pq = generate_pseudo_queries(corpus, lm, cfg, progress=False)
    assert pq.spec["resumed_at"] == 3 and len(pq) == 6


def test_consistency_filter_keeps_queries_whose_source_the_ranker_finds(corpus):
    pq = generate_pseudo_queries(corpus, CopyingLM(), PseudoQueryConfig(passages=4),
                                 cache=False, progress=False)
    qids = sorted(pq.queries)
    # a run that ranks the source first for two queries and never retrieves it for the others
    scores = {q: {pq.source(q): 2.0, "x1": 1.0} if i < 2 else {"x1": 2.0, "x2": 1.0}
              for i, q in enumerate(qids)}
    kept = pq.filtered(Run.from_scores(scores, name="judge"), k=1)
    assert sorted(kept.queries) == qids[:2] and sorted(kept.qrels) == qids[:2]
    assert kept.counts["filter"] == {"by": "judge", "k": 1, "kept": 2, "of": 4}
    with pytest.raises(InputError, match="has none of the pseudo-queries"):
        pq.filtered(Run.from_scores({"other": {"x": 1.0}}), k=5)


def test_bm25_filter_on_real_passages(corpus):
    from rankify_lite.retrievers.bm25 import BM25

    pq = generate_pseudo_queries(corpus, CopyingLM(words=12), PseudoQueryConfig(passages=20),
                                 cache=False, progress=False)
    run = BM25().index(corpus).retrieve(pq.queries, k=10)
    kept = pq.filtered(run, k=10, by="bm25")
    # the first 12 words of a SciFact title + abstract find their own abstract nearly always
    assert kept.counts["filter"]["kept"] >= 18
    assert all(pq.source(q) in run[q].top(10).doc_ids for q in kept.queries)


def test_saved_set_is_a_beir_folder_load_dataset_reads_back(corpus, tmp_path):
    pq = generate_pseudo_queries(corpus, CopyingLM(), PseudoQueryConfig(passages=5),
                                 cache=False, progress=False)
    folder = pq.save(tmp_path / "pq", corpus)
    ds = load_dataset(str(folder))
    assert ds.rules.split == "train" and not ds.rules.remove_self_hits
    assert ds.queries == pq.queries and ds.qrels == pq.qrels
    assert len(ds.corpus) == len(corpus) and ds.corpus.content_hash() == corpus.content_hash()
    spec = json.loads((folder / "pseudo_queries.json").read_text())
    assert spec["counts"]["generated"] == 5 and spec["prompt"]["name"] == "inpars"
    with pytest.raises(InputError, match="already holds a pseudo-query set"):
        pq.save(folder, corpus)
    pq.save(folder, corpus, overwrite=True)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "queries.jsonl").write_text("{}\n")
    with pytest.raises(InputError, match="did not write are never replaced"):
        pq.save(foreign, corpus)


def test_unknown_style_and_bad_settings_are_refused(corpus, tmp_path):
    with pytest.raises(InputError, match="unknown pseudo-query style"):
        load_style("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nversion: 1\nchat: maybe\n")
    with pytest.raises(InputError, match="'chat:' must be true"):
        load_style(str(bad))
    with pytest.raises(InputError, match="passages"):
        PseudoQueryConfig(passages=0)
