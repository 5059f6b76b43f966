"""Where ir_datasets' own log lines go: a log file, with only errors on the terminal.

ir_datasets logs through the standard ``logging`` logger ``ir_datasets`` with a handler of its
own that prints every INFO and WARNING line (``[INFO] [starting] ...``, ``[WARNING] ...``) to
stderr, between our results. As for the JVM (:mod:`rankify_lite.retrievers.java_logs`), those
lines go to one log file (INFO and up) and only ERROR and up also to stderr. ir_datasets'
progress bars are untouched.

The log file is ``$RANKIFY_LITE_IRDS_LOG`` when set, else
``$RANKIFY_LITE_CACHE/logs/ir_datasets.log``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

#: the logger every ir_datasets module writes to
LOGGER = "ir_datasets"
_OURS = "_rankify_lite_irds"  # attribute marking the handlers this module added


def irds_log_path() -> Path:
    """The file ir_datasets' log lines go to (see the module docstring)."""
    own = os.environ.get("RANKIFY_LITE_IRDS_LOG")
    if own:
        return Path(own).expanduser().resolve()
    from rankify_lite.cache import cache_dir

    return cache_dir("logs") / "ir_datasets.log"


def route_irds_logs(irds_log_module: object | None = None) -> Path:
    """Send the ``ir_datasets`` logger to :func:`irds_log_path` (errors also to stderr), in
    place of ir_datasets' own stderr handler; calling it again changes nothing. Pass
    ``ir_datasets.log`` so the logger it hands out later is this one."""
    path = irds_log_path()
    logger = logging.getLogger(LOGGER)
    if not any(getattr(h, _OURS, False) for h in logger.handlers):
        for handler in list(logger.handlers):  # ir_datasets' own stderr handler, if it ran;
            if type(handler).__module__.startswith("ir_datasets"):  # a user's handler stays
                logger.removeHandler(handler)
        path.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(path, encoding="utf-8", delay=True)
        to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s - %(message)s"))
        to_stderr = logging.StreamHandler(sys.stderr)
        to_stderr.setLevel(logging.ERROR)
        to_stderr.setFormatter(logging.Formatter("ir_datasets %(levelname)s - %(message)s"))
        for handler in (to_file, to_stderr):
            setattr(handler, _OURS, True)
            logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    cache = getattr(irds_log_module, "_logger_cache", None)
    if isinstance(cache, dict):  # ir_datasets adds its own handler to names it has not seen
        cache[LOGGER] = logger
    return path


__all__ = ["irds_log_path", "route_irds_logs"]
