"""The flags by which a user allows a shared file (a leaderboard YAML, a saved ``meta.json``)
what it may not do on its own: run a model's code, or send requests to a server it names."""

from __future__ import annotations

import argparse

from rankify_lite.file_policy import Consent


def add_consent_flags(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--trust-remote-code", action="store_true",
                        help=f"let a model named in {what} run its own Python code (off: "
                             "refused)")
    parser.add_argument("--allow-server", action="append", default=[], metavar="URL",
                        help=f"let {what} send requests (and your API key) to this server "
                             "address (repeatable; addresses in OPENAI_BASE_URL or "
                             "RANKIFY_LITE_SERVERS are allowed too; any other is refused)")


def consent_from(args: argparse.Namespace) -> Consent:
    return Consent(trust_remote_code=bool(getattr(args, "trust_remote_code", False)),
                   servers=tuple(getattr(args, "allow_server", None) or ()))
