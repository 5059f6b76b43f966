"""Distil SPLADE++ ED into a MiniLM cross-encoder on TREC DL20, test it on DL19 (unseen queries).

Training: the 54 DL20 queries (``../shared/data/trec-dl/dl20-passage``), teacher = the scores of
the shipped SPLADE++ ED top-100 run (0.7197 nDCG@10 on DL20), student = all-MiniLM-L6-v2 (the
offline weights) with a fresh 1-logit head, trained with sentence-transformers'
``CrossEncoderTrainer`` and the chosen loss (default Margin-MSE over per-query z-scored teacher
scores) on this CPU machine. Settings are fixed before looking at DL19; nothing is tuned on it.

Test: DL19's BM25 top-100 (43 queries, disjoint from DL20's, checked) reranked at depth 100 by
the student, against BM25 (0.5058), the MiniLM bi-encoder reranker (0.6424 at depth 100), the
teacher's own DL19 run (SPLADE++ ED, 0.7308) and the untrained student (same weights, random
head). Significance: ``rankify_lite.evaluation.compare`` (paired t-test, Holm), binary metrics
at grade >= 2 as published for DL.

    nice -n 10 python benchmarks/distill_dl20_to_dl19.py [--loss margin-mse] [--output DIR]

An interrupted run continues from the trainer's last checkpoint when started again; a finished
student in ``--output`` is reused (``--retrain`` trains again).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import markdown_table, write_section  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec-dl"
STUDENT = "sentence-transformers/all-MiniLM-L6-v2"
TEACHER = "splade-pp-ed.top100"
METRICS = ["ndcg@10", "mrr@10", "recall@100"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loss", default="margin-mse")
    parser.add_argument("--output", default="/tmp/rankify-lite-distill/minilm-splade-dl20")
    parser.add_argument("--pairs-per-query", type=int, default=24)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=7e-5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--retrain", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from rankify_lite import load_dataset
    from rankify_lite.distill import METADATA_FILE, DistillConfig, distill, load_metadata
    from rankify_lite.evaluation import compare
    from rankify_lite.rerankers import load_reranker

    dl20 = load_dataset(DATA / "dl20-passage")
    dl19 = load_dataset(DATA / "dl19-passage")
    overlap = set(dl20.queries) & set(dl19.queries)
    if overlap:
        raise SystemExit(f"DL20 and DL19 share queries {sorted(overlap)[:5]}: not a held-out test")
    teacher = dl20.load_run(TEACHER).restrict(dl20.qrels)

    out = Path(args.output)
    config = DistillConfig(loss=args.loss, depth=100, pairs_per_query=args.pairs_per_query,
                           epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size,
                           max_length=args.max_length, save_steps=20)
    if (out / METADATA_FILE).exists() and not args.retrain:
        meta = load_metadata(out)
        print(f"reusing the student in {out}")
    else:
        result = distill(teacher, dl20.queries, dl20.corpus, student=STUDENT, output=out,
                         config=config, resume=True, overwrite=args.retrain,
                         dataset=dl20.name, device="cpu")
        meta = result.metadata
    tr = meta["training"]
    losses = [row["loss"] for row in tr["losses"]]

    bm25 = dl19.load_run("bm25.top100").replace(name="BM25")
    splade = dl19.load_run(TEACHER).replace(name="SPLADE++ ED (teacher's DL19 run)")
    timings = {}

    def rerank(name: str, reranker) -> object:
        t0 = time.perf_counter()
        run = reranker.rerank(dl19.queries, bm25, dl19.corpus, depth=100)
        timings[name] = time.perf_counter() - t0
        return run.replace(name=name)

    bi = rerank("BM25 >> MiniLM bi-encoder", load_reranker("bi-encoder", model=STUDENT))
    student = rerank("BM25 >> distilled student",
                     load_reranker("cross-encoder", model=str(out), device="cpu"))
    import torch

    torch.manual_seed(0)  # the untrained student's random head
    untrained = rerank("BM25 >> untrained student (random head)",
                       load_reranker("cross-encoder", model=STUDENT, device="cpu"))
    runs = [bm25, bi, untrained, student, splade]
    cmp = compare(runs, dl19.qrels, METRICS, rel_level=dl19.rel_level)
    vs_student = compare(runs, dl19.qrels, METRICS, rel_level=dl19.rel_level, baseline=3)

    rows = []
    for i, name in enumerate(cmp.systems):
        row: list = [f"{cmp.letter(i)} {name}"]
        row += [f"{cmp.evaluations[i].mean[m]:.4f}" for m in cmp.metrics]
        row.append("" if i == 0 else f"{cmp.p_baseline['ndcg@10'][i]:.2g}")
        row.append("" if i == 3 else f"{vs_student.p_baseline['ndcg@10'][i]:.2g}")
        row.append(f"{timings[name]:.0f} s" if name in timings else "")
        rows.append(row)
    table = markdown_table(["system (DL19, 43 queries)", *cmp.labels, "p vs BM25",
                            "p vs student", "rerank time"], rows)
    cfg = meta["config"]
    body = (
        f"Train: DL20 ({meta['data']['queries']} queries), teacher `{TEACHER}` (SPLADE++ ED, "
        f"scores z-scored per query), {meta['data']['examples']} {meta['data']['example_kind']}; "
        f"student `{STUDENT}` + fresh 1-logit head; loss `{meta['loss']['class'].rsplit('.', 1)[-1]}`, "
        f"lr {cfg['learning_rate']}, batch {cfg['batch_size']}, epochs {cfg['epochs']}, "
        f"max_length {cfg['max_length']}, seed {cfg['seed']}. "
        f"{tr['steps']} steps; training loss {sum(losses[:10]) / max(1, len(losses[:10])):.3f} "
        f"(mean of the first 10 steps) -> {sum(losses[-10:]) / max(1, len(losses[-10:])):.3f} "
        f"(last 10); {tr['train_seconds_this_session'] / 60:.1f} min wall, "
        f"{tr['train_cpu_seconds_this_session'] / 60:.1f} CPU-min (process time, all threads; "
        f"resumed from: {tr['resumed_from'] or 'no'}; the 2-core machine was shared with other "
        f"jobs, so wall time is inflated).\n\n"
        f"Test: DL19 BM25 top-100 reranked at depth 100 (queries disjoint from DL20). "
        f"Letters: significantly better than that system; p: paired t-test, Holm-corrected "
        f"(`rankify_lite.evaluation.compare`); recall at grade >= 2.\n\n{table}\n\n"
        f"Full comparison:\n\n{cmp.to_markdown()}")
    print(body)
    write_section("distill_dl20_to_dl19", body)
    print(json.dumps({"student": str(out), "steps": tr["steps"]}))


if __name__ == "__main__":
    main()
