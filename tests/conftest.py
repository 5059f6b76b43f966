"""Test-wide settings: caches in temporary folders, no network, real data when present."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RANKIFY_LITE_SHARED_DATA", REPO.parent / "shared" / "data"))

_TMP = Path(tempfile.mkdtemp(prefix="rankify-lite-tests-"))
os.environ["RANKIFY_LITE_CACHE"] = str(_TMP / "cache")
os.environ["IR_DATASETS_HOME"] = str(_TMP / "ir_datasets")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The suite proves reference parity, so encoders and cross-encoders left on backend="auto" run
# the reference path (torch fp32) here, as `--exact` does; what "auto" picks on this machine,
# and that it keeps the quality goal, is tested in tests/models/test_auto_backend.py (which
# clears this variable).
os.environ["RANKIFY_LITE_EXACT"] = "1"
if SHARED_DATA.is_dir():
    os.environ["RANKIFY_LITE_DATA"] = str(SHARED_DATA)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real IR test collections); tests that need it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def scifact():
    """The bundled SciFact test collection (ships inside the package)."""
    from rankify_lite.datasets.registry import BUNDLED, load_beir_folder

    return load_beir_folder(BUNDLED["beir/scifact"], name="beir/scifact")


@pytest.fixture(scope="session")
def dl19(shared_data):
    from rankify_lite import load_dataset

    return load_dataset("trec-dl/dl19-passage")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """What did not run, grouped by its declared reason (a missing extra, no GPU, no shared
    data), so a reader of the CI log sees it at the end. A skip is only ever declared at the
    test (``pytest.importorskip``, ``helpers.extras.requires``, a fixture's ``pytest.skip``): an
    ImportError anywhere else is a failure."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        terminalreporter.section("skipped, by reason")
        for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            terminalreporter.write_line(f"{n:5d}  {reason}")


def pytest_collection_modifyitems(session, config, items):
    """The Ray tests run first. Ray's core worker installs its own SIGSEGV handler in the
    process that calls ray.init; a JVM (Lucene BM25, started in-process by many tests) that was
    started before that relies on its SIGSEGV handler for safepoints and then dies of the next
    one. Ray first, JVM after is safe: the JVM chains to the handler it finds."""
    items.sort(key=lambda item: 0 if "/tests/executors/" in str(item.path) else 1)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (the report and docs tests share it: Playwright's
    sync API runs one driver per thread, so a second one started beside it would fail); skips
    when chromium or the Playwright client is missing."""
    from helpers.browser import headless_chromium

    with headless_chromium() as b:
        yield b
