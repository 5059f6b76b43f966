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
