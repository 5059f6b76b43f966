"""A skip is a declared reason, never a failure in disguise (issue #32): with the suite's own
conftest, an ImportError raised by rankify_lite code (a missing extra on an optional path) or a
missing optional module fails the test; only a skip declared at the test skips, and the run
ends with the skips grouped by reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

PROBE = '''
import pytest


def test_our_missing_dependency_error_fails():
    from rankify_lite.errors import require

    require("rankify_lite_no_such_module", extra="dense", feature="a probe")


def test_a_missing_optional_module_fails():
    raise ModuleNotFoundError("No module named 'faiss'", name="faiss")


def test_an_import_error_inside_our_code_fails():
    raise ImportError("cannot import name 'x' from 'torch'", name="torch")


def test_a_declared_skip_skips():
    pytest.importorskip("rankify_lite_no_such_module", reason="the probe extra is not installed")


def test_another_declared_skip():
    pytest.skip("no GPU here")
'''


def test_import_errors_fail_and_declared_skips_are_summarised(tmp_path):
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "test_probe.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert "3 failed, 2 skipped" in out, out[-3000:]
    for name in ("test_our_missing_dependency_error_fails", "test_a_missing_optional_module_fails",
                 "test_an_import_error_inside_our_code_fails"):
        assert f"FAILED test_probe.py::{name}" in out
    summary = out.split("skipped, by reason", 1)[1]
    assert "1  the probe extra is not installed" in summary and "1  no GPU here" in summary
