"""Run the code blocks of a Markdown page (the README, every docs/ page) as a reader would.

```python blocks run as scripts; ```bash blocks run line by line; in ```sh blocks (set-up and
test commands, which CI itself runs through .ci/run) the `rankify-lite ...` part of each line
runs, so the main-job command is executed too. A line saying "not run by the tests" says why it
is not (e.g. a 25-minute leaderboard from scratch). Examples run from the repository root on the
data the package ships (SciFact, TREC DL 2019/2020), as on a fresh clone: none needs
../shared/data. An example that loads model weights from the Hugging Face hub skips, saying so,
when those weights are not in the local cache (:func:`skip_without_weights`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"```(python|bash|sh)\n(.*?)```", re.S)

#: hub weights an example loads (the ones scripts/install_offline_models.py places), by what its
#: code says: the model id, or a family, retriever or command whose default model it is
WEIGHTS = {
    "sentence-transformers/all-MiniLM-L6-v2": (
        "all-MiniLM-L6-v2", '"bi-encoder', "--retriever dense", "rankify-lite distill",
        "benchmarks/expected/main.yaml"),   # the expected-scores check reranks with MiniLM
    "HuggingFaceTB/SmolLM2-135M-Instruct": ("SmolLM2-135M-Instruct",),
    "rasyosef/splade-tiny": ("splade-tiny",),
}


#: a bash/sh line -> the blocks it came from: a line needs what its block loads (a `rerun` of a
#: result needs the weights the `run` before it used)
_BLOCKS: dict[str, list[str]] = {}


def weights_needed(code: str) -> list[str]:
    """The hub model ids an example's code (or the block its line is from) loads (``WEIGHTS``)."""
    text = "\n".join([code, *_BLOCKS.get(code, [])])
    return [model for model, marks in WEIGHTS.items() if any(m in text for m in marks)]


def skip_without_weights(code: str) -> None:
    """Skip (a declared reason) an example whose hub weights are not in the local cache."""
    import pytest
    from huggingface_hub import try_to_load_from_cache

    missing = [m for m in weights_needed(code)
               if not isinstance(try_to_load_from_cache(m, "config.json"), str)]
    if missing:
        pytest.skip(f"needs the offline weights of {', '.join(missing)}: "
                    "python scripts/install_offline_models.py")


def blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, body) of every runnable fenced block, in page order."""
    return FENCE.findall(markdown)


def commands(markdown: str, prefix: str = "") -> list[tuple[str, str]]:
    """(test id, code) of everything a page's blocks run, in page order."""
    out = []
    for i, (lang, body) in enumerate(blocks(markdown)):
        ran = "\n".join(line for line in body.splitlines() if "not run by the tests" not in line)
        if lang == "python":
            out.append((f"{prefix}python-{i}", body))
            continue
        for line in body.splitlines():
            if "not run by the tests" in line:
                continue
            line = line.split("  #")[0].strip()
            if not line or line.startswith("#"):
                continue
            if lang == "sh":
                parts = [p.strip() for p in line.split("&&") if p.strip().startswith("rankify-lite")]
            else:
                parts = [line]
            out += [(f"{prefix}{lang}-{i}", p) for p in parts]
            for p in parts:
                _BLOCKS.setdefault(p, []).append(ran)
    return out


def run_example(name: str, code: str) -> subprocess.CompletedProcess:
    """Run one example from the repository root; fails the test with its output unless it exits
    0; skips it when the hub weights it loads are not in the local cache."""
    skip_without_weights(code)
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
           "MPLBACKEND": "Agg"}
    if "python-" in name:
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=900)
    else:
        proc = subprocess.run(code, shell=True, cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=900)
    assert proc.returncode == 0, f"{name} failed:\n{code}\n---\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc
