"""Copy sections written on a GPU machine (``gpu_*.py --out DIR``) into RESULTS.md here.

    python benchmarks/gpu_collect.py DIR      # DIR holds gpu_cross_encoder.md, gpu_first.md, ...
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section  # noqa: E402


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    found = sorted(Path(sys.argv[1]).glob("gpu_*.md"))
    if not found:
        raise SystemExit(f"no gpu_*.md in {sys.argv[1]}")
    for path in found:
        write_section(path.stem, path.read_text())
        print(f"RESULTS.md: section {path.stem} from {path}")


if __name__ == "__main__":
    main()
