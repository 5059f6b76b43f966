"""Compare several runs on the same topics: means, significance vs a baseline and pairwise.

Like PyTerrier's Experiment and ranx's Report: every system is tested against the baseline and
against every other system with a paired test on per-query scores; p-values are corrected for
multiple testing per metric (Holm by default). The table marks, for each system and metric, the
letters of the systems it is significantly *better* than.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rankify_lite.errors import InputError
from rankify_lite.evaluation.metrics import DEFAULT_METRICS, Evaluation, evaluate, parse_metric
from rankify_lite.evaluation.significance import correct, paired_test
from rankify_lite.io.numbers import COUNT, PROBABILITY, SEED
from rankify_lite.systems import SystemId
from rankify_lite.types import Qrels, Run

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True)
class Comparison:
    systems: tuple[str, ...]
    metrics: tuple[str, ...]
    labels: tuple[str, ...]                       # display labels of the metrics
    evaluations: tuple[Evaluation, ...]
    baseline: int
    test: str
    correction: str
    alpha: float
    p_baseline: dict[str, list[float]]            # metric -> corrected p vs baseline per system
    better_than: dict[str, list[list[int]]]       # metric -> per system, indices it beats

    # -- accessors -----------------------------------------------------------------------
    def mean(self, system: str | int, metric: str) -> float:
        i = system if isinstance(system, int) else self.systems.index(system)
        return self.evaluations[i].mean[parse_metric(metric).name]

    def letter(self, i: int) -> str:
        return string.ascii_lowercase[i % 26]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per system: mean per metric, corrected p vs baseline, significance flags."""
        import pandas as pd

        rows = []
        for i, name in enumerate(self.systems):
            row = {"letter": self.letter(i), "system": name}
            for m, label in zip(self.metrics, self.labels, strict=True):
                row[label] = self.evaluations[i].mean[m]
                row[f"{label} p"] = self.p_baseline[m][i]
                row[f"{label} beats"] = "".join(self.letter(j) for j in self.better_than[m][i])
            rows.append(row)
        return pd.DataFrame(rows).set_index("system")

    def marks(self, i: int, metric: str, fmt: str = "text", vs_own_first_stage: bool = False
              ) -> str:
        """Significance marks of system ``i`` on ``metric``: the letters of the systems it beats,
        † when it differs from the baseline (and ‡ when ``vs_own_first_stage``), rendered for
        ``fmt`` (text, md, latex). Every table renders its marks here."""
        m = parse_metric(metric).name
        letters = "".join(self.letter(j) for j in self.better_than[m][i])
        dagger = i != self.baseline and self.p_baseline[m][i] < self.alpha
        if fmt == "md":
            return ((f"<sup>{letters}</sup>" if letters else "") + (" †" if dagger else "")
                    + (" ‡" if vs_own_first_stage else ""))
        if fmt == "latex":
            return ((f"$^{{{letters}}}$" if letters else "") + ("$^\\dagger$" if dagger else "")
                    + ("$^\\ddagger$" if vs_own_first_stage else ""))
        return ((f"^{letters}" if letters else "") + (" +" if dagger else "")
                + (" ++" if vs_own_first_stage else ""))

    def _cells(self, fmt: str) -> list[list[str]]:
        return [[self.letter(i), SystemId.from_label(name).display(fmt),   # latex: escaped
                 *(f"{self.evaluations[i].mean[m]:.4f}" + self.marks(i, m, fmt)
                   for m in self.metrics)]
                for i, name in enumerate(self.systems)]

    def _legend(self) -> str:
        base = self.systems[self.baseline]
        return (f"Letters: significantly better than that system; † significantly different "
                f"from the baseline ({self.letter(self.baseline)}: "
                f"{SystemId.from_label(base).display()}). Paired {self.test}, "
                f"{self.correction}-corrected per metric, alpha={self.alpha}; "
                f"{self.evaluations[0].settings.get('queries', '?')} queries.")

    def to_markdown(self) -> str:
        head = ["", "system", *self.labels]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in self._cells("md")]
        return "\n".join(lines) + "\n\n" + self._legend() + "\n"

    def to_latex(self) -> str:
        cols = "ll" + "r" * len(self.labels)
        from rankify_lite.systems import latex_escape

        lines = [f"\\begin{{tabular}}{{{cols}}}", "\\toprule",
                 " & system & " + " & ".join(latex_escape(lb) for lb in self.labels) + " \\\\",
                 "\\midrule"]
        for r in self._cells("latex"):
            lines.append(" & ".join(r) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        rows = [["", "system", *self.labels], *self._cells("text")]
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(lines) + "\n" + self._legend().replace("†", "+") + "\n"

    def as_dict(self) -> dict:
        return {"systems": list(self.systems), "metrics": list(self.metrics),
                "baseline": self.systems[self.baseline], "test": self.test,
                "correction": self.correction, "alpha": self.alpha,
                "mean": {s: e.mean for s, e in zip(self.systems, self.evaluations, strict=True)},
                "p_vs_baseline": {m: dict(zip(self.systems, p, strict=True))
                                  for m, p in self.p_baseline.items()},
                "better_than": {m: {self.systems[i]: [self.systems[j] for j in js]
                                    for i, js in enumerate(v)}
                                for m, v in self.better_than.items()}}

    def __str__(self) -> str:
        return self.to_text()


def _named(runs: Sequence[Run] | Mapping[str, Run]) -> list[tuple[str, Run]]:
    items = list(runs.items()) if isinstance(runs, Mapping) else [(r.name, r) for r in runs]
    names = [n for n, _ in items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"compare() got {len(names)} runs but the names {dup} are used more "
                         "than once; each system needs its own name.",
                         fix="rename runs with run.replace(name=...), pass a {name: run} "
                             "mapping, or give pipeline stages name=.")
    return items


def compare(runs: Sequence[Run] | Mapping[str, Run], qrels: Qrels,
            metrics: Iterable[str] = DEFAULT_METRICS, baseline: int | str = 0,
            test: str = "t-test", correction: str = "holm", alpha: float = 0.05,
            rel_level: int = 1, complete: bool = True, n_resamples: int = 10_000,
            seed: int = 0) -> Comparison:
    """Evaluate ``runs`` on ``qrels`` and test every difference; see the module docstring."""
    alpha = PROBABILITY.check(alpha, "alpha", fix="a significance level, e.g. alpha=0.05.")
    n_resamples = COUNT.check(n_resamples, "n_resamples", fix="e.g. n_resamples=10000.")
    seed = SEED.check(seed, "seed", fix="e.g. seed=0.")
    named = _named(runs)
    if len(named) < 1:
        raise InputError("compare() needs at least one run.", fix="pass a list of Runs.")
    systems = tuple(n for n, _ in named)
    if isinstance(baseline, str):
        if baseline not in systems:
            raise InputError(f"baseline {baseline!r} is not among the runs {list(systems)}.",
                             fix="name one of the runs, or pass its index.")
        baseline = systems.index(baseline)
    if not 0 <= baseline < len(systems):
        raise InputError(f"baseline index {baseline} out of range.", fix="use 0..n-1.")
    parsed = [parse_metric(m) for m in metrics]
    evals = tuple(evaluate(r.replace(name=n), qrels, parsed, rel_level, complete)
                  for n, r in named)
    qids = list(evals[0].per_query[parsed[0].name])
    p_base: dict[str, list[float]] = {}
    better: dict[str, list[list[int]]] = {}
    n = len(systems)
    for m in (p.name for p in parsed):
        vec = [np.array([e.per_query[m][q] for q in qids]) for e in evals]
        raw = [1.0 if i == baseline else paired_test(vec[i], vec[baseline], test, n_resamples, seed)
               for i in range(n)]
        others = [i for i in range(n) if i != baseline]
        adj = correct([raw[i] for i in others], correction)
        p_base[m] = [1.0] * n
        for i, p in zip(others, adj, strict=True):
            p_base[m][i] = p
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        pair_raw = [paired_test(vec[i], vec[j], test, n_resamples, seed) for i, j in pairs]
        pair_adj = correct(pair_raw, correction)
        beats: list[list[int]] = [[] for _ in range(n)]
        for (i, j), p in zip(pairs, pair_adj, strict=True):
            if p < alpha:
                winner, loser = (i, j) if vec[i].mean() > vec[j].mean() else (j, i)
                beats[winner].append(loser)
        better[m] = [sorted(b) for b in beats]
    return Comparison(systems, tuple(p.name for p in parsed), tuple(p.label for p in parsed),
                      evals, baseline, test, correction, alpha, p_base, better)
