"""The GroupRank authors' inference steps, transcribed for the parity tests (test data, not
package code).

Source: ``GroupReranker`` in https://github.com/AQ-MedAI/Diver/blob/95b111b/Reranker/rerank_groupwise.py
(commit 95b111b). Their module imports vLLM at the top and loads a model in ``__init__``, so it
cannot be imported here; its three steps are reproduced statement for statement, with vLLM's
``generate`` replaced by a function argument and the chat template by a tokenizer argument:
``prepare_groups_one_epoch`` (the groups and their prompts), ``_extract_rerank_output`` (the
parse) and the aggregation of ``rerank_by_group`` (scores / 10, a failed group all 0, the mean
per document, sorted by score). The prompt strings are read from the package's
``prompts/grouprank.yaml``, whose values the family test checks against the same source.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections import defaultdict


def extract_rerank_output(output_str):
    if output_str is None:
        return None
    answer_match = re.search(r"<answer>(.*?)</answer>", output_str, re.DOTALL)
    if answer_match:
        output_str = answer_match.group(1).strip()
    try:
        json_matches = re.findall(r"(?:```json\s*)([\s\S]+?)(?:\s*```)", output_str)
        if json_matches:
            json_str = json_matches[-1].strip()
        else:
            json_str = re.findall(r"\{[\s\S]*?\}", output_str)[-1]
        json_str = json_str.strip()
        json_str = re.sub(r'(\[\d+\])\]', r'\1', json_str)
        if json_str.count('{') > json_str.count('}'):
            json_str += '}'
        json_str = re.sub(r'\s+', ' ', json_str).replace('\n', ' ').strip()
        idx_score = dict(json.loads(json_str))
    except Exception as exc:  # noqa: BLE001 -- the authors' bare except
        raise ValueError("no valid JSON") from exc
    return idx_score


def prepare_groups_one_epoch(tokenizer, system, user, qid_queries, qid_did_ctxs, group_size,
                             interval, max_doc_lens):
    batch_messages, batch_info = [], []
    for item in qid_queries:
        qid, query = item['qid'], item['query']
        docs = qid_did_ctxs[qid]
        random.shuffle(docs)
        for i in range(0, len(docs), interval):
            doc_group = docs[i:i + group_size]
            dids, doc_texts = [], []
            for doc in doc_group:
                dids.append(doc['id'])
                doc_texts.append(re.sub('\n+', ' ', doc['text'])[:max_doc_lens])
            docs_str = ''.join(["[{}]. {}\n\n".format(idx + 1, doc_text)  # noqa: UP032
                                for idx, doc_text in enumerate(doc_texts)])
            group_texts = user.format(QUERY=query, PASSAGES=docs_str, TOPK=len(dids))
            message = tokenizer.apply_chat_template(
                [{'role': 'system', 'content': system}, {'role': 'user', 'content': group_texts}],
                tokenize=False, add_generation_prompt=True)
            batch_messages.append(message)
            batch_info.append((qid, dids))
    return batch_messages, batch_info


def rerank_by_group(tokenizer, system, user, generate, qid_queries, qid_did_ctxs, *,
                    group_size, interval, num_epoch, max_doc_lens=3000, seed=666):
    """(prompts, outputs, {qid: {did: score}} best first). ``generate(prompts) -> texts``.
    ``random.seed(seed)`` once, as the authors' module does at import."""
    random.seed(seed)
    qid_did_ctxs = copy.deepcopy(qid_did_ctxs)
    msgs, info = [], []
    for _ in range(num_epoch):
        m, i = prepare_groups_one_epoch(tokenizer, system, user, qid_queries, qid_did_ctxs,
                                        group_size, interval, max_doc_lens)
        msgs += m
        info += i
    outputs = generate(msgs)
    new_scores = {item['qid']: [] for item in qid_queries}
    for output_str, (qid, dids) in zip(outputs, info, strict=True):
        try:
            idx_score = extract_rerank_output(output_str)
            did_score = [(dids[int(idx.strip().strip('[]')) - 1], score / 10)
                         for idx, score in idx_score.items()]
        except Exception:  # noqa: BLE001 -- the authors' rule: the whole group scores 0
            did_score = [(did, 0) for did in dids]
        new_scores[qid].extend(did_score)
    for qid, did_scores in new_scores.items():
        by_doc = defaultdict(list)
        for did, s in did_scores:
            by_doc[did].append(s)
        avg = [(k, sum(v) / len(v)) for k, v in by_doc.items()]
        new_scores[qid] = dict(sorted(avg, key=lambda item: item[1], reverse=True))
    return msgs, outputs, new_scores
