"""A small synthetic distillation task: queries of two words, documents that repeat them a
varying number of times, and a teacher whose score counts the query words in the document."""

from __future__ import annotations

import random

from rankify_lite.types import Corpus, Document, Queries, Run

from .tiny import WORDS


def synthetic_task(n_queries: int = 6, docs_per_query: int = 10, seed: int = 0):
    """(queries, corpus, teacher run); teacher score = query-word count (+ a tiny tie-break)."""
    rng = random.Random(seed)
    content = WORDS[9:]          # topical words; the first ones are function words
    filler = WORDS[:9]
    queries, docs, scores = {}, [], {}
    for q in range(n_queries):
        qwords = rng.sample(content, 2)
        qid = f"q{q}"
        queries[qid] = " ".join(qwords)
        scores[qid] = {}
        for d in range(docs_per_query):
            hits = d % 5                                  # 0..4 query words
            words = [rng.choice(qwords) for _ in range(hits)]
            words += [rng.choice(filler + content) for _ in range(8 - hits)]
            rng.shuffle(words)
            did = f"{qid}-d{d}"
            docs.append(Document(did, " ".join(words)))
            text_words = words
            scores[qid][did] = float(sum(w in qwords for w in text_words)) + 0.01 * d
    teacher = Run.from_scores(scores, name="count-teacher", metadata={"family": "synthetic"})
    return Queries.from_dict(queries), Corpus.from_documents(docs), teacher
