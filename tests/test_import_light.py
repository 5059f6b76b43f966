import subprocess
import sys


def test_import_does_not_load_heavy_dependencies():
    code = ("import sys, rankify_lite, rankify_lite.retrievers, rankify_lite.rerankers, "
            "rankify_lite.evaluation, rankify_lite.datasets; "
            "heavy = [m for m in ('torch', 'transformers', 'pyserini', 'jnius', 'faiss', "
            "'ranx', 'numba', 'pandas') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_layer_imports_nothing_above_it():
    """types, spec, systems and stage_stats are the bottom layer: no io, no pipeline."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "rankify_lite"
    for name in ("types.py", "systems.py", "stage_stats.py"):
        tree = ast.parse((root / name).read_text())
        imported = {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module}
        above = sorted(m for m in imported if m.startswith("rankify_lite.")
                       and m not in ("rankify_lite.errors", "rankify_lite.systems"))
        assert not above, f"{name} imports {above}"
