"""The default metrics, one copy (a leaf with no imports, so the CLI's help can name them
without importing the evaluator). :mod:`rankify_lite.evaluation` re-exports them."""

from __future__ import annotations

#: what evaluate / compare / ``rankify-lite eval`` / a leaderboard without ``metrics:`` score
DEFAULT_METRICS: tuple[str, ...] = ("ndcg@10", "recall@100")
#: what a pipeline scores on a collection whose rules name no metrics: the above and recall at
#: the first stage's default depth (k = 1000), so the first stage's own recall shows
PIPELINE_METRICS: tuple[str, ...] = (*DEFAULT_METRICS, "recall@1000")


def metrics_text(metrics: tuple[str, ...]) -> str:
    """``ndcg@10 recall@100``: how the CLI's help writes a default."""
    return " ".join(metrics)
