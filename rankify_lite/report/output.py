"""Where a report may be written: never over a file of the folder it reads, never over a file
the project did not write.

The rule (checked before anything is read or computed, on resolved paths, so a symlink or a
``..`` counts as where it points):

* inside the folder the report reads, only a ``.html`` file may be written: ``meta.json``, the
  run files, ``results.json``, ``per_query.csv`` and every other file of a saved result or a
  leaderboard are not ``.html``, so none can be replaced by the page;
* an existing output file is replaced only when it is a report this project wrote (its first
  kilobyte holds the page's ``generator`` mark); any other file needs ``overwrite``.
"""

from __future__ import annotations

from pathlib import Path

from rankify_lite.errors import InputError

GENERATOR = '<meta name="generator" content="rankify_lite report">'


def is_our_report(path: Path) -> bool:
    """Whether ``path`` is an HTML report this project wrote (by its generator mark)."""
    try:
        with open(path, "rb") as fh:
            return GENERATOR.encode() in fh.read(1024)
    except OSError:
        return False


def check_output(folder: str | Path, output: str | Path, overwrite: bool = False) -> Path:
    """``output`` when the report of ``folder`` may be written there (see the module doc);
    otherwise an InputError naming the file and the fix."""
    output = Path(output)
    target, source = output.resolve(), Path(folder).resolve()
    if target.is_dir():
        raise InputError("the report's output is a folder.", path=output,
                         fix="give a file name, e.g. -o report.html.")
    if target.is_relative_to(source) and target.suffix.lower() != ".html":
        raise InputError(f"the report would be written over a file of the folder it reads "
                         f"({target.name}); inside {folder} only an .html file may be written.",
                         path=output, fix="write the report elsewhere or name it *.html, "
                                          "e.g. -o report.html.")
    if target.exists() and not overwrite and not is_our_report(target):
        raise InputError("the output file exists and is not a report rankify-lite wrote.",
                         path=output, fix="choose another file name, or pass --overwrite "
                                          "(overwrite=True) to replace it.")
    return output


__all__ = ["GENERATOR", "check_output", "is_our_report"]
