"""Run the code blocks of a Markdown page (the README, every docs/ page) as a reader would.

```python blocks run as scripts; ```bash blocks run line by line; in ```sh blocks (set-up and
test commands, which CI itself runs through .ci/run) the `rankify-lite ...` part of each line
runs, so the main-job command is executed too. A line saying "not run by the tests" says why it
is not (e.g. a 25-minute leaderboard from scratch). Examples run from the repository root, where
../shared/data is the real data folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"```(python|bash|sh)\n(.*?)```", re.S)


def blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, body) of every runnable fenced block, in page order."""
    return FENCE.findall(markdown)


def commands(markdown: str, prefix: str = "") -> list[tuple[str, str]]:
    """(test id, code) of everything a page's blocks run, in page order."""
    out = []
    for i, (lang, body) in enumerate(blocks(markdown)):
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
                out += [(f"{prefix}sh-{i}", p) for p in parts]
            else:
                out.append((f"{prefix}bash-{i}", line))
    return out


def run_example(name: str, code: str) -> subprocess.CompletedProcess:
    """Run one example from the repository root; fails the test with its output unless it exits 0."""
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
