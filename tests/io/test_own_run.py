"""read_own_run (the run cache's reader): the very Run read_run gives, for a file this package
wrote and for every irregular file (then it falls back to read_run)."""

import random

import pytest

from rankify_lite.errors import InputError
from rankify_lite.io.trec import read_own_run, read_run, write_run
from rankify_lite.types import Run


def _same(a: Run, b: Run) -> None:
    assert list(a.lists) == list(b.lists)  # query order too
    assert a.lists == b.lists and a.name == b.name and dict(a.metadata) == dict(b.metadata)


@pytest.mark.parametrize("seed", range(20))
def test_written_runs_read_back_as_read_run_reads_them(tmp_path, seed):
    rng = random.Random(seed)
    scores = {f"q{q}": {f"d{rng.randrange(500)}": rng.choice([1.0, 0.5, rng.random() * 1e3,
                                                              -rng.random(), 2.0 ** -30])
                        for _ in range(rng.randrange(1, 60))}
              for q in rng.sample(range(1000), rng.randrange(1, 30))}  # ties and negatives
    path = tmp_path / "sys.trec"
    write_run(Run.from_scores(scores, name="sys"), path)
    _same(read_own_run(path), read_run(path))
    _same(read_own_run(path, name="x"), read_run(path, name="x"))


@pytest.mark.parametrize("text", [
    "q Q0 a 1 1.0 t\nq Q0 b 2 1.0 t\n",      # a tie in doc-id ascending order: read_run sorts
    "q Q0 a 1 1.0 t\nq Q0 b 2 2.0 t\n",      # scores rising: read_run sorts
    "q Q0 a 1 1.0 t\nr Q0 a 1 1.0 t\nq Q0 b 2 0.5 t\n",  # a query in two places
    "q Q0 a 1 1e400 t\n",                    # not finite: read_run refuses
    "q Q0 a 1 1_0 t\n",                      # Python's float reads it; read_run refuses
    "q Q0 a 1 1.0 t\nq Q0 a 2 0.5 t\n",      # a duplicate pair: refused
    "q Q0 a 1 1.0\n",                        # five columns: refused
    "",                                      # empty: refused
    "q Q0 a 3 1.0 t\nq Q0 b 7 0.5 t\n",      # ranks other than 1, 2, ...: read_run ignores them
    "q X a 1 1.0 t\n",                       # a second column other than Q0
    "q Q0 a -1 1.0 t\n",                     # a negative rank: refused
    "q Q0 a 1 \u0661 t\n",                   # an Arabic-Indic digit: refused
    "q Q0 a 1 1.0\nq Q0 b 2 0.5 t t\n",      # 5 and 7 columns (12 tokens): refused
])
def test_irregular_files_get_read_runs_answer(tmp_path, text):
    path = tmp_path / "r.trec"
    path.write_text(text)
    _agree(path)


def test_bad_bytes_get_read_runs_refusal(tmp_path):
    path = tmp_path / "r.trec"
    path.write_bytes(b"q Q0 d\xff 1 1.0 t\n")
    _agree(path)


def _agree(path) -> None:
    try:
        expected = read_run(path)
    except InputError as exc:
        with pytest.raises(InputError) as got:
            read_own_run(path)
        assert str(got.value) == str(exc)
    else:
        _same(read_own_run(path), expected)
