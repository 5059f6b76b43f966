"""Entry point of the ``rankify-lite`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rankify_lite.cli import (
    datasets_cmd,
    distill_cmd,
    eval_cmd,
    leaderboard_cmd,
    rerankers_cmd,
    run_cmd,
)

# Each command module contributes its sub-parsers; add a module here to add commands.
COMMAND_MODULES = [run_cmd, eval_cmd, datasets_cmd, rerankers_cmd, leaderboard_cmd, distill_cmd]


def build_parser() -> argparse.ArgumentParser:
    from rankify_lite import __version__

    parser = argparse.ArgumentParser(
        prog="rankify-lite",
        description="Retrieve, rerank and evaluate for IR research.")
    parser.add_argument("--version", action="version", version=f"rankify-lite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from rankify_lite.errors import RankifyError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RankifyError as exc:
        print(f"rankify-lite: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        return 0
    except OSError as exc:  # a path the user gave can't be read or written
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"rankify-lite: error: {where}{exc.strerror or exc}. Fix: check the path and its "
              "permissions.", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
