"""Pseudo-queries written by real models through the transformers engine: a tiny random Llama
with SmolLM2's tokenizer (prompt ids token for token, greedy and repeatable) and SmolLM2-135M-
Instruct itself on bundled SciFact passages (tiny generations: a few passages, few tokens)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
from helpers.tiny import SMOLLM2, cached_or_skip, tiny_llm_folder

from rankify_lite.distill.pseudo_queries import (
    PseudoQueryConfig,
    choose_passages,
    clean_query,
    cut_passage,
    first_line_complete,
    generate_pseudo_queries,
    load_style,
    prompt_ids,
)
from rankify_lite.rerankers.engines import build_backend


@pytest.fixture(scope="module")
def tiny_backend(tmp_path_factory):
    return build_backend("transformers", tiny_llm_folder(tmp_path_factory.mktemp("llm")),
                         batch_size=2)


def test_prompt_ids_are_the_tokenizers_own_ids_of_the_filled_template(tiny_backend, scifact):
    tok = tiny_backend.tokenizer
    doc = next(iter(scifact.corpus.values()))
    cut = cut_passage(tiny_backend, doc.full_text(), 40)
    assert len(tok(cut, add_special_tokens=False)["input_ids"]) <= 41
    inpars = load_style("inpars")
    assert prompt_ids(tiny_backend, inpars, cut) == tok(inpars.text("text", passage=cut))["input_ids"]
    d2q = load_style("doc2query")
    chat = tok.apply_chat_template(
        [{"role": "system", "content": d2q.get("system")},
         {"role": "user", "content": d2q.text("user", passage=cut)}],
        tokenize=False, add_generation_prompt=True)
    assert prompt_ids(tiny_backend, d2q, cut) == tok(chat, add_special_tokens=False)["input_ids"]


def test_tiny_llama_generation_is_greedy_and_repeatable(tiny_backend, scifact):
    cfg = PseudoQueryConfig(passages=3, max_new_tokens=6, max_passage_tokens=32)
    a = generate_pseudo_queries(scifact.corpus, tiny_backend, cfg, cache=False, progress=False)
    b = generate_pseudo_queries(scifact.corpus, tiny_backend, cfg, cache=False, progress=False)
    assert a.queries == b.queries
    assert a.counts["passages"] == 3 and a.counts["output_tokens"] <= 18
    assert a.spec["generator"]["backend"] == "transformers"
    assert set(a.qrels) == set(a.queries)


def test_smollm2_writes_queries_about_their_passages(scifact):
    backend = build_backend("transformers", cached_or_skip(SMOLLM2), batch_size=4)
    cfg = PseudoQueryConfig(passages=4, max_new_tokens=16, max_passage_tokens=96, seed=3)
    pq = generate_pseudo_queries(scifact.corpus, backend, cfg, cache=False, progress=False)
    assert len(pq) == 4 and pq.counts["dropped_empty"] == 0
    shares = 0
    for doc_id in choose_passages(scifact.corpus, cfg):
        words = {w.lower().strip(".,()") for w in scifact.corpus[doc_id].full_text().split()
                 if len(w) > 4}
        query = pq.queries[f"pq-{doc_id}"].text
        assert "\n" not in query and 0 < len(query) < 200
        shares += bool(words & {w.lower().strip(".,()?") for w in query.split()})
    assert shares >= 3       # about its own passage, not a generic sentence


def test_stopping_at_the_first_line_keeps_the_queries_and_saves_tokens(scifact):
    """SmolLM2 on 8 SciFact passages: decoding to 32 tokens and stopping once the first line is
    complete give the same queries (clean_query's line) for fewer output tokens."""
    backend = build_backend("transformers", cached_or_skip(SMOLLM2), batch_size=4)
    cfg = PseudoQueryConfig(passages=8, max_new_tokens=32, max_passage_tokens=96, seed=5)
    style = load_style(cfg.style)
    prompts = [prompt_ids(backend, style, cut_passage(backend, scifact.corpus[d].full_text(),
                                                      cfg.max_passage_tokens))
               for d in choose_passages(scifact.corpus, cfg)]
    full = backend.generate(prompts, 32)
    short = backend.generate(prompts, 32, stop_when=first_line_complete)
    strip = style.fields.get("strip_prefixes") or []
    assert [clean_query(g.text, strip) for g in short] == \
        [clean_query(g.text, strip) for g in full]
    assert all(first_line_complete(g.text) or g.output_tokens == f.output_tokens
               for g, f in zip(short, full, strict=True))
    assert all(f.text.startswith(g.text) for g, f in zip(short, full, strict=True))
    assert sum(g.output_tokens for g in short) < sum(f.output_tokens for f in full)
    pq = generate_pseudo_queries(scifact.corpus, backend, cfg, cache=False, progress=False)
    assert pq.counts["output_tokens"] == sum(g.output_tokens for g in short)  # it stops too
