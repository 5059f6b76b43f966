"""The evaluator loads ranx's metric kernels without ranx's whole package (its __init__ pulls
scipy.stats and pandas: ~4 s on this CPU), and the package stays whole for everyone else."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json, sys
    {first}
    from rankify_lite.datasets import load_dataset
    from rankify_lite.evaluation import evaluate
    d = load_dataset("dl19")
    run = d.load_run("bm25.top100")
    ours = evaluate(run, d.qrels, ["ndcg@10", "recall@100"], rel_level=2)
    light = "scipy.stats" not in sys.modules and "ranx.meta" not in sys.modules
    import ranx
    from ranx import Qrels, fuse
    print(json.dumps({{"light": light, "ours": ours.mean["ndcg@10"],
                      "whole": callable(fuse) and hasattr(ranx, "compare")
                               and hasattr(ranx, "metrics") and isinstance(Qrels, type)}}))
""")


def _run(first: str = "") -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(first=first)], check=True,
                         capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_evaluating_does_not_import_ranxs_whole_package_and_gives_the_published_number():
    got = _run()
    assert got["light"], "evaluate() pulled in scipy.stats or ranx.meta"
    assert got["whole"], "a later `import ranx` did not give the whole package"
    assert round(got["ours"], 4) == 0.5058  # published BM25 DL19 nDCG@10


def test_with_ranx_imported_first_its_own_package_is_used():
    got = _run("import ranx")
    assert not got["light"] and got["whole"] and round(got["ours"], 4) == 0.5058
