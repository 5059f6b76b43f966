import numpy as np
import pytest

from rankify_lite import compare
from rankify_lite.errors import InputError
from rankify_lite.evaluation.significance import correct, paired_test


def test_holm_matches_hand_computation():
    assert correct([0.01, 0.04, 0.03], "holm") == pytest.approx([0.03, 0.06, 0.06])
    assert correct([0.01, 0.04], "bonferroni") == pytest.approx([0.02, 0.08])


def test_tests_agree_on_clear_and_null_differences():
    rng = np.random.default_rng(1)
    a = rng.random(200)
    assert paired_test(a + 0.2, a, "t-test") < 1e-10
    assert paired_test(a + 0.2, a, "randomization", n_resamples=2000) < 0.001
    assert paired_test(a, a.copy(), "t-test") == 1.0
    noise = rng.normal(0, 0.1, 200)
    assert paired_test(a + noise, a - noise, "randomization", n_resamples=2000) > 0.0


def test_compare_dl19_runs(dl19):
    runs = [dl19.load_run(n) for n in ("bm25.top100", "splade-pp-ed.top100")]
    result = compare(runs, dl19.qrels, ["ndcg@10", "recall@100"], rel_level=2)
    assert result.mean("splade-pp-ed.top100", "ndcg@10") == pytest.approx(0.7308, abs=5e-5)
    assert result.p_baseline["ndcg@10"][1] < 0.05
    assert result.better_than["ndcg@10"] == [[], [0]]
    md = result.to_markdown()
    assert "| b | splade-pp-ed.top100 | 0.7308<sup>a</sup> †" in md
    assert "\\begin{tabular}" in result.to_latex()
    df = result.to_dataframe()
    assert df.loc["bm25.top100", "nDCG@10"] == pytest.approx(0.5058, abs=5e-5)
    with pytest.raises(InputError, match="baseline"):
        compare(runs, dl19.qrels, baseline="nope")


def test_a_cascade_reads_one_way_in_every_table():
    """People see a cascade as ``bm25 » a_b`` (text, Markdown, the legend, as in time lines and
    the leaderboard); LaTeX as ``bm25 $\\gg$ a\\_b``; the data keeps the label ``bm25>>a_b``."""
    from rankify_lite.types import Qrels, Run

    qrels = Qrels({"q1": {"d1": 1}, "q2": {"d2": 1}})
    first = Run.from_scores({"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d1": 2.0, "d2": 1.0}},
                            name="bm25>>a_b")
    other = Run.from_scores({"q1": {"d2": 2.0, "d1": 1.0}, "q2": {"d2": 2.0, "d1": 1.0}},
                            name="bm25")
    result = compare([first, other], qrels, ["ndcg@10"])
    assert result.systems[0] == "bm25>>a_b"
    for table in (result.to_text(), result.to_markdown()):
        assert "bm25 » a_b" in table and ">>" not in table
    latex = result.to_latex()
    assert "bm25 $\\gg$ a\\_b" in latex and ">>" not in latex


def test_the_paired_t_test_is_scipys_ttest_rel():
    """Computed through scipy.special (no scipy.stats import): the same p-values."""
    import warnings

    import numpy as np
    from scipy.stats import ttest_rel

    from rankify_lite.evaluation.significance import paired_test

    rng = np.random.default_rng(0)
    cases = [(np.array([1.0, 2, 3]), np.array([0.0, 1, 2])), (np.array([1.0]), np.array([0.5]))]
    for i in range(500):
        n = int(rng.integers(2, 400))
        a = rng.random(n)
        b = np.clip(a + rng.normal(0, 0.1, n) * rng.random(), 0, 1)
        cases.append((np.round(a, 1), np.round(b, 1)) if i % 3 == 0 else (a, b))
    for a, b in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = float(ttest_rel(a, b).pvalue)
        ref = 1.0 if np.isnan(ref) or not np.any(a - b) else ref
        assert paired_test(a, b) == pytest.approx(ref, rel=1e-12, abs=1e-300)
