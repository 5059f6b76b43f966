"""ir_datasets' own INFO / WARNING lines go to a log file, not between our results on the
terminal; its errors still reach stderr (as the JVM's do, see retrievers/test_java_logs)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("ir_datasets")

_LOG_THROUGH_IR_DATASETS = """
import ir_datasets
from rankify_lite.datasets import irds
irds._module()
irds._module()  # twice: still one file handler, one stderr handler
log = ir_datasets.log.easy()
log.info("[starting] an info line")
log.warn("a warning line")
log.error("an error line")
import logging
print(len(logging.getLogger("ir_datasets").handlers))
"""


def test_irds_info_and_warnings_go_to_the_log_file(tmp_path):
    log_file = tmp_path / "irds.log"
    env = dict(os.environ, RANKIFY_LITE_IRDS_LOG=str(log_file))
    done = subprocess.run([sys.executable, "-c", _LOG_THROUGH_IR_DATASETS], env=env, text=True,
                          capture_output=True, timeout=120, check=True)
    assert done.stdout.strip() == "2"
    assert "an info line" not in done.stderr and "a warning line" not in done.stderr
    assert "ir_datasets ERROR - an error line" in done.stderr
    logged = log_file.read_text()
    for line in ("INFO ir_datasets - [starting] an info line",
                 "WARNING ir_datasets - a warning line", "ERROR ir_datasets - an error line"):
        assert line in logged


_A_USERS_HANDLER = """
import logging, sys
mine = logging.StreamHandler(sys.stdout)
logging.getLogger("ir_datasets").addHandler(mine)   # the user's own, before we route
import ir_datasets
ir_datasets.log.easy().info("[starting] an info line")  # ir_datasets adds its TqdmHandler
from rankify_lite.datasets import irds
irds._module()
handlers = logging.getLogger("ir_datasets").handlers
print(mine in handlers, [type(h).__name__ for h in handlers if h is not mine])
"""


def test_a_handler_the_user_installed_is_kept(tmp_path):
    """Only ir_datasets' own stderr handler is replaced, not every handler (review 12)."""
    env = dict(os.environ, RANKIFY_LITE_IRDS_LOG=str(tmp_path / "irds.log"))
    done = subprocess.run([sys.executable, "-c", _A_USERS_HANDLER], env=env, text=True,
                          capture_output=True, timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == "True ['FileHandler', 'StreamHandler']"
