"""GroupRank groupwise reranking against the authors' own steps.

The reference is ``helpers.grouprank_ref``: the authors' ``rerank_groupwise.py`` (AQ-MedAI/Diver
commit 95b111b) transcribed statement for statement (their module imports vLLM at the top, so it
cannot be imported here). Proven: the prompt strings are the authors' (hashes of their literals),
the groups across the depth are theirs for every shape tried, the parse agrees case by case
(the stated exceptions aside), and end to end -- on a fake LM whose answers follow the passages,
and on a tiny random Llama with SmolLM2's real tokenizer and chat template over real DL19
queries -- the prompts are theirs token for token and the per-document scores equal theirs.
"""

from __future__ import annotations

import hashlib
import json
import random
import re

import pytest
from helpers.fake_lm import FakeLM, rel, rerank_inputs
from helpers.grouprank_ref import extract_rerank_output, prepare_groups_one_epoch, rerank_by_group

from rankify_lite.errors import InputError
from rankify_lite.rerankers.engines.llm_backend import Generation
from rankify_lite.rerankers.families.grouprank import GroupRankReranker, groups_of, parse_scores
from rankify_lite.rerankers.prompts.templates import load_prompt

TEMPLATE = load_prompt("grouprank")
SYSTEM, USER = TEMPLATE.fields["system"], TEMPLATE.fields["user"]
_DOC = re.compile(r"^\[(\d+)\]\. (.*)$", re.M)


def test_prompt_strings_are_the_authors_literals():
    # sha256 of group_system_prompt / group_user_prompt in rerank_groupwise.py at 95b111b
    assert hashlib.sha256(SYSTEM.encode()).hexdigest() == \
        "0bfaa7a5baca4fd62246f987cf22b9335f1b009c6d733f22840b0369bb432ffa"
    assert hashlib.sha256(USER.encode()).hexdigest() == \
        "b8ab00cd0219913cbd830d5548950bedd65cfdaa3a943ee08c19c95bd18cec07"
    assert TEMPLATE.fields["passage"] == "[{idx}]. {text}\n\n"


class _Tok:
    """The authors' tokenizer calls, answered by a backend's chat rendering."""

    def __init__(self, backend):
        self.backend = backend

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        assert tokenize is False and add_generation_prompt is True
        return self.backend.render_chat(messages)


@pytest.mark.parametrize(("n", "size", "interval", "repeats"),
                         [(7, 20, 20, 6), (25, 20, 20, 2), (40, 10, 10, 2), (9, 3, 2, 3)])
def test_groups_across_the_depth_are_the_authors(n, size, interval, repeats):
    docs = [{"id": f"d{k}", "text": f"t{k}"} for k in range(n)]
    random.seed(666)
    want = []
    for _ in range(repeats):
        _, info = prepare_groups_one_epoch(_Tok(FakeLM()), SYSTEM, USER, [{"qid": "q", "query": "x"}],
                                           {"q": docs}, size, interval, 3000)
        want += [dids for _, dids in info]
    got = [[f"d{k}" for k in g] for g in groups_of(n, size, interval, repeats, 666)]
    assert got == want


def _reference_parse(output: str, size: int):
    """The authors' per-group result, {position: score}: their ``dids[int(k) - 1]`` over the
    group's positions, and all 0 when their code raises."""
    positions = list(range(size))
    try:
        pairs = extract_rerank_output(output)
        return {positions[int(k.strip().strip("[]")) - 1]: v / 10 for k, v in pairs.items()}
    except Exception:  # noqa: BLE001 -- the authors' rule
        return {k: 0 for k in range(size)}


FENCED = '<reason> r </reason>\n<answer> \n```json\n{"[1]": 5, "[2]": 3, "[3]": 8}\n``` \n</answer>'
CASES = [
    (FENCED, {0: 0.5, 1: 0.3, 2: 0.8}, False),
    ('no tags {"[2]": 7, "[1]": 1, "[3]": 0}', {1: 0.7, 0: 0.1, 2: 0.0}, False),
    ('<answer>```json\n{"[1]]": 4, "[2]": 6, "[3]": 2\n```</answer>', {0: 0.4, 1: 0.6, 2: 0.2},
     False),                                         # the authors' two repairs
    ('<answer>{"[1]": 9, "[3]": 2}</answer>', {0: 0.9, 2: 0.2}, False),          # [2] missing
    ('<answer>{"[1]": 15, "[2]": -1, "[3]": 2.5}</answer>', {0: 1.5, 1: -0.1, 2: 0.25}, False),
    ('<answer>{"[1]": 9, "[4]": 2}</answer>', None, True),                       # not in group
    ('<answer>{"[1]": "high", "[2]": 2}</answer>', None, True),                  # not a number
    ('<answer>{"first": 3}</answer>', None, True),
    ("<reason> the budget ran out before any answer", None, True),
    ('<answer>{"[1]": 5, "[2]": </answer>', None, True),                          # broken JSON
]


@pytest.mark.parametrize(("output", "scores", "malformed"), CASES)
def test_parse_agrees_with_the_authors(output, scores, malformed):
    got = parse_scores(output, 3)
    assert got.malformed is malformed
    want = {k: 0.0 for k in range(3)} if malformed else scores
    assert got.scores == pytest.approx(want)
    assert got.scores == pytest.approx(_reference_parse(output, 3))
    assert got.out_of_range == (2 if "15" in output else 0)


def test_id_zero_is_malformed_here_where_the_authors_index_from_the_end():
    out = '<answer>{"[0]": 9, "[1]": 2, "[2]": 2}</answer>'
    assert parse_scores(out, 2).malformed
    assert extract_rerank_output(out) == {"[0]": 9, "[1]": 2, "[2]": 2}   # theirs: no error


class _GroupLM(FakeLM):
    """Answers each group from its passages' relevance: score = relevance (an integer); a group
    holding a passage of relevance 13 is answered with broken JSON, and relevance 12 is left out."""

    def generate(self, prompt_ids, max_new_tokens, min_new_tokens=0):
        self.generate_args.append((max_new_tokens, min_new_tokens))
        return [Generation(self.answer(self.decode(p)), len(p), 5) for p in prompt_ids]

    @staticmethod
    def answer(prompt: str) -> str:
        docs = _DOC.findall(prompt)
        if any(rel(t) == 13 for _, t in docs):
            return "<reason> x </reason><answer> {[1]: oops </answer>"
        body = {f"[{k}]": int(rel(t)) for k, t in docs if rel(t) != 12}
        return f"<reason> fine </reason>\n<answer>\n```json\n{json.dumps(body)}\n```\n</answer>"


def test_fake_lm_end_to_end_scores_are_the_authors(tmp_path):
    rels = {"q1": [3, 9, 1, 13, 7, 12, 5, 8, 2], "q2": [4, 6, 10]}
    queries, first, corpus = rerank_inputs(rels)
    lm = _GroupLM()
    rr = GroupRankReranker(backend=lm, group_size=3, interval=2, repeats=2,
                           log_path=tmp_path / "log.jsonl", max_new_tokens=64)
    out = rr.rerank(queries, first, corpus)
    logs = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    finals = {r["qid"]: r["final_scores"] for r in logs if "final_scores" in r}
    for q in rels:
        docs = [{"id": d, "text": corpus[d].full_text()} for d in first[q].doc_ids]
        msgs, _, want = rerank_by_group(
            _Tok(lm), SYSTEM, USER, lambda ps: [_GroupLM.answer(p) for p in ps],
            [{"qid": q, "query": queries[q].text}], {q: docs}, group_size=3, interval=2,
            num_epoch=2)
        mine = [r["prompt"] for r in logs if r.get("doc_ids") and r["qid"] == q]
        assert sorted(mine) == sorted(msgs)                    # the same prompts, text for text
        scored = {d: s for d, s in finals[q].items() if d in want[q]}
        assert scored == pytest.approx(want[q])
        unscored = [d for d in first[q].doc_ids if d not in want[q]]
        assert list(out[q].doc_ids[len(scored):]) == unscored  # below, first-stage order
    stats = out.metadata["llm_stats"]
    assert stats["queries"] == 2 and stats["groups"] == 2 * 5 + 2 * 2
    assert stats["malformed_groups"] > 0 and stats["missing_scores"] > 0
    assert lm.generate_args == [(64, 0)]


def test_bad_options_are_refused_before_the_model_loads():
    for opts, match in [({"group_size": 0}, "group_size must be"),
                        ({"interval": 1.5}, "interval must be"),
                        ({"shuffle_seed": "x"}, "shuffle_seed must be")]:
        with pytest.raises(InputError, match=match):
            GroupRankReranker(model="no/such-model", **opts)


def test_a_group_that_does_not_fit_the_context_is_a_clear_error():
    rr = GroupRankReranker(backend=FakeLM(max_context=64), group_size=2, interval=2, repeats=1)
    with pytest.raises(Exception, match="does not fit the model's context"):
        rr.rerank(*rerank_inputs({"q1": [1.0, 2.0]}))


# -- a real tokenizer and a real (tiny, random) model ----------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    pytest.importorskip("transformers")
    from helpers.tiny import tiny_llm_folder

    return tiny_llm_folder(tmp_path_factory.mktemp("tiny-llm"), seed=5)


def test_tiny_llm_prompts_parse_and_scores_equal_the_authors(tiny, dl19, tmp_path):
    import torch
    import transformers

    from rankify_lite.types import Run

    tok = transformers.AutoTokenizer.from_pretrained(tiny)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny).eval()

    def generate(prompts):                           # vLLM's generate(text), greedy
        texts = []
        for p in prompts:
            ids = torch.tensor([tok(p)["input_ids"]])
            with torch.no_grad():
                o = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=6,
                                   do_sample=False, pad_token_id=tok.eos_token_id)
            new = o[0, ids.shape[1]:].tolist()
            new = new[:new.index(tok.eos_token_id)] if tok.eos_token_id in new else new
            texts.append(tok.decode(new, skip_special_tokens=True))
        return texts

    run = dl19.load_run("bm25.top100")
    first = Run.from_rankings({q: list(run[q].doc_ids[:5]) for q in list(run)[:2]}, name="bm25")
    rr = GroupRankReranker(tiny, device="cpu", group_size=3, interval=2, repeats=2,
                           max_doc_chars=200, max_new_tokens=6, batch_size=1,
                           log_path=tmp_path / "log.jsonl")
    out = rr.rerank(dl19.queries, first, dl19.corpus)
    logs = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    for q in first:
        docs = [{"id": d, "text": dl19.corpus[d].full_text()} for d in first[q].doc_ids]
        msgs, outs, want = rerank_by_group(tok, SYSTEM, USER, generate,
                                           [{"qid": q, "query": dl19.queries[q].text}], {q: docs},
                                           group_size=3, interval=2, num_epoch=2, max_doc_lens=200)
        mine = [r for r in logs if r.get("doc_ids") and r["qid"] == q]
        assert [r["prompt"] for r in mine] == msgs              # same groups, same order
        assert [tok(r["prompt"])["input_ids"] for r in mine] == [tok(m)["input_ids"] for m in msgs]
        assert [r["output"] for r in mine] == outs
        final = next(r["final_scores"] for r in logs if r.get("final_scores") and r["qid"] == q)
        assert {d: final[d] for d in want[q]} == pytest.approx(want[q])
        assert set(out[q].doc_ids) == set(first[q].doc_ids)
    stats = out.metadata["llm_stats"]
    assert stats["groups"] == 2 * 2 * 3 and stats["queries"] == 2
    assert stats["output_tokens"] <= stats["groups"] * 6
