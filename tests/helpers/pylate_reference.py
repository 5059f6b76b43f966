"""PyLate as the reference, run with the PyLate venv's python (never imported by the tests):

    $RANKIFY_LITE_PYLATE_PYTHON tests/helpers/pylate_reference.py request.json answer.json

request: {"model": folder, "queries": [text], "documents": [[text, ...] per query],
          "batch_size": int, "options": {models.ColBERT keyword arguments} (optional)}
answer:  {"query_ids": [[id, ...]], "query_mask": [[0/1, ...]], "document_ids": [[[id, ...]]],
          "scores": [[float per document]], "token_counts": [[kept tokens per document]],
          "versions": {...}}
"""

import json
import sys


def main(request_path: str, answer_path: str) -> None:
    import pylate
    import sentence_transformers
    import torch
    import transformers
    from pylate import models, rank

    req = json.load(open(request_path))
    model = models.ColBERT(model_name_or_path=req["model"], device="cpu",
                           **req.get("options", {}))
    bs = int(req.get("batch_size", 32))
    q_tok = model.tokenize(req["queries"], is_query=True)
    d_ids = [[model.tokenize([d], is_query=False)["input_ids"][0].tolist() for d in docs]
             for docs in req["documents"]]
    q_emb = model.encode(req["queries"], is_query=True, batch_size=bs)
    d_emb = [model.encode(docs, is_query=False, batch_size=bs) for docs in req["documents"]]
    ids = [list(range(len(docs))) for docs in req["documents"]]
    ranked = rank.rerank(documents_ids=ids, queries_embeddings=q_emb, documents_embeddings=d_emb)
    scores = []
    for per_query, docs in zip(ranked, req["documents"], strict=True):
        by_id = {int(r["id"]): float(r["score"]) for r in per_query}
        scores.append([by_id[i] for i in range(len(docs))])
    json.dump({"query_ids": q_tok["input_ids"].tolist(),
               "query_mask": q_tok["attention_mask"].tolist(),
               "document_ids": d_ids, "scores": scores,
               "token_counts": [[len(e) for e in embs] for embs in d_emb],
               "versions": {"pylate": pylate.__version__, "torch": torch.__version__,
                            "sentence_transformers": sentence_transformers.__version__,
                            "transformers": transformers.__version__}},
              open(answer_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
