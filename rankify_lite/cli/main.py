"""Entry point of the ``rankify-lite`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from rankify_lite.cli import (
    datasets_cmd,
    distill_cmd,
    eval_cmd,
    leaderboard_cmd,
    pseudo_cmd,
    report_cmd,
    rerankers_cmd,
    run_cmd,
)

# Each command module contributes its sub-parsers; add a module here to add commands.
COMMAND_MODULES = [run_cmd, eval_cmd, datasets_cmd, rerankers_cmd, leaderboard_cmd, distill_cmd,
                   pseudo_cmd, report_cmd]


class OneLineParser(argparse.ArgumentParser):
    """argparse, refusing a bad command line in the project's one-line form (no usage block):
    ``rankify-lite compare: error: --alpha 'nan' is not finite. Fix: ...``. Sub-parsers are
    of the same class (argparse makes them so)."""

    def error(self, message: str) -> NoReturn:
        import re

        # a value refused by an io.numbers argtype names its option itself
        message = re.sub(r"^argument (\S+?)(?:/\S+)?: (?=\1 )", "", message)
        if "Fix:" not in message:
            message += f". Fix: see '{self.prog} --help'."
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from rankify_lite import __version__

    parser = OneLineParser(
        prog="rankify-lite",
        description="Retrieve, rerank and evaluate for IR research.")
    parser.add_argument("--version", action="version", version=f"rankify-lite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parsers(sub)
    return parser


def _interrupted(stop: KeyboardInterrupt) -> str:
    """The one line an interrupted command prints (what the stopped stage's checkpoint kept,
    attached to the interrupt by the cached-stage runner)."""
    from rankify_lite.pipeline.run_cached import CHECKPOINTED

    kept = getattr(stop, CHECKPOINTED, None)
    if kept is None:
        return ("interrupted: no reranking was checkpointed yet; run the same command again "
                "(finished stages come from the cache)")
    done, total = kept
    return (f"interrupted: {done} of {total if total is not None else '?'} queries "
            "checkpointed; run the same command again to resume")


def _sigterm(signum, frame):  # noqa: ARG001 - signal handler signature
    raise KeyboardInterrupt  # the same clean stop (checkpoint kept, one line, exit 130) as Ctrl-C


def main(argv: Sequence[str] | None = None) -> int:
    import signal
    import threading

    from rankify_lite.errors import RankifyError

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad command line (one line printed)
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _sigterm)
    from rankify_lite.models import backends

    exact_before = os.environ.get(backends.EXACT_ENV)
    if getattr(args, "exact", False):  # the reference path for this command (torch fp32)
        os.environ[backends.EXACT_ENV] = "1"
    backends.announce_to(lambda line: print(f"backend: {line}", file=sys.stderr))
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as stop:
        print(_interrupted(stop), file=sys.stderr)
        return 130
    except RankifyError as exc:
        print(f"rankify-lite: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        return 0
    except OSError as exc:  # a path the user gave can't be read or written
        import errno

        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        fix = "check the path and its permissions."
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            fix = ("free space on that disk, or point RANKIFY_LITE_CACHE / --output at another "
                   "one; finished queries are checkpointed: run the same command again to "
                   "resume.")
        print(f"rankify-lite: error: {where}{exc.strerror or exc}. Fix: {fix}", file=sys.stderr)
        return 2
    finally:
        backends.announce_to(None)
        if exact_before is None:
            os.environ.pop(backends.EXACT_ENV, None)
        else:
            os.environ[backends.EXACT_ENV] = exact_before
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
