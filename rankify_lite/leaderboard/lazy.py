"""A reranker that loads its model only when something actually has to be reranked.

The pipeline's cache key needs ``reranker.config()`` (model id, revision, prompt hash, ...),
which normally means loading the model. :class:`LazyReranker` remembers each spec's config on
disk, keyed by the spec, the package version and a fingerprint of every source and prompt
file the config can depend on (:func:`_sources_fingerprint`), so a leaderboard rerun whose
runs are all cached loads no model at all.

Why this class stays (decided during the spec redesign): the pipeline's cache key is the
reranker's ``config()``, which holds values only known once the family is built (resolved
revision, prompt hash, tokenizer facts such as the identifier ids). Keying caches on the spec
alone would miss those, so a leaderboard needs either the built reranker or this memo of its
config; its ``spec()`` is the board entry's saved spec, the same thing ``rerun`` rebuilds from.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from rankify_lite.cache import cache_dir, content_key
from rankify_lite.errors import RankifyError
from rankify_lite.leaderboard.config import RerankerSpec
from rankify_lite.rerankers.base import Reranker
from rankify_lite.spec import ComponentSpec
from rankify_lite.ties import DEFAULT, check_rule

#: package folders a reranker's config cannot depend on (bundled data, reports, the CLI)
_NOT_CONFIG = ("data", "report", "cli")


@cache
def _sources_fingerprint() -> str:
    """The package version and every source and data file a reranker's ``config()`` can depend
    on: the families and their prompts (rerankers/), tokenisation and pooling (models/), the
    spec and cache modules, the engines: all of the package except the folders in
    :data:`_NOT_CONFIG` (the bundled dataset, reports, the command line). A change in any of
    them invalidates the memo, which costs one model load."""
    import rankify_lite

    return fingerprint_of(Path(rankify_lite.__file__).parent, rankify_lite.__version__)


def fingerprint_of(root: Path, version: str) -> str:
    """:func:`_sources_fingerprint` of the package folder ``root``."""
    h = hashlib.sha256(version.encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc"
                       and "__pycache__" not in p.parts
                       and p.relative_to(root).parts[0] not in _NOT_CONFIG):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


class LazyReranker(Reranker):
    def __init__(self, spec: RerankerSpec) -> None:
        self.board_spec = spec
        self.given_name = spec.name  # the board entry's name is the stage name
        # what the batch driver applies outside the model, read from the wrapper: the entry's
        # tie rule (dropped before #38: computed by the default rule, keyed by the asked one)
        self.ties = check_rule(spec.options.get("ties", DEFAULT))
        self._real: Reranker | None = None
        key = content_key(spec.family, spec.model, spec.options, _sources_fingerprint())
        self._memo = cache_dir("leaderboard") / f"reranker-config-{key}.json"

    @property
    def real(self) -> Reranker:
        if self._real is None:
            self._real = self.board_spec.build()
        return self._real

    def _remembered(self) -> dict[str, Any]:
        """{"config", "query_batch_size", "max_pairs_per_call"} of the real reranker, memoised."""
        if self._memo.exists():
            try:
                memo = json.loads(self._memo.read_text())
                if isinstance(memo, dict) and "config" in memo:
                    return memo
            except ValueError:
                pass
        real = self.real
        memo = {"config": real.config(), "query_batch_size": real.query_batch_size,
                "max_pairs_per_call": real.max_pairs_per_call}
        self._memo.parent.mkdir(parents=True, exist_ok=True)
        self._memo.write_text(json.dumps(memo, default=str))
        return json.loads(self._memo.read_text())  # the same JSON round trip as a memo hit

    def config(self) -> dict[str, Any]:
        return self._remembered()["config"]

    @property
    def stats(self) -> dict[str, int]:
        """The real reranker's counters (the batch driver reads their change per batch)."""
        return getattr(self._real, "stats", None) or {} if self._real is not None else {}

    def _rerank_batch(self, items):
        remembered = self.config()
        actual = json.loads(json.dumps(self.real.config(), default=str))
        if actual != remembered or self.real.ties != self.ties:  # e.g. a model folder changed
            self._memo.unlink(missing_ok=True)
            raise RankifyError(f"reranker {self.board_spec.name!r}: its configuration changed since it "
                               "was remembered; run the leaderboard again.")
        return self.real._rerank_batch(items)

    def spec(self) -> ComponentSpec:
        """The board entry's saved spec (family, model, options): what ``rerun`` rebuilds."""
        options = {**self.board_spec.options}
        if self.board_spec.model is not None:
            options["model"] = self.board_spec.model
        return ComponentSpec("reranker", self.board_spec.family, options)

    def queries_per_call(self, depth: int) -> int:
        memo = self._remembered()  # no model load on a memo hit
        if memo.get("max_pairs_per_call"):
            return max(1, int(memo["max_pairs_per_call"]) // max(1, depth))
        return max(1, int(memo.get("query_batch_size") or 1))
