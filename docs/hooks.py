"""MkDocs hook: the figures under benchmarks/ become site files at the same paths.

benchmarks/RESULTS.md is included into docs/benchmarks/index.md as it is (never copied), and
links its figures relative to benchmarks/; serving benchmarks/**/*.png at benchmarks/... keeps
those links, and the leaderboard page's, resolving without a second copy in docs/.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent


def on_files(files: Files, config) -> Files:
    for png in sorted((ROOT / "benchmarks").rglob("*.png")):
        uri = png.relative_to(ROOT).as_posix()
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, abs_src_path=str(png)))
    return files
