"""A real vLLM OpenAI-compatible server with SmolLM2-135M-Instruct, shared by this folder's
tests (session scope); skipped when the vLLM environment or the weights are absent."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _real_server import VLLMServer, smol_cached, vllm_python  # noqa: E402


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    python = vllm_python()
    if python is None:
        pytest.skip("no vLLM environment (set RANKIFY_LITE_VLLM_PYTHON; .ci/run makes one)")
    if not smol_cached():
        pytest.skip("SmolLM2-135M-Instruct is not in the Hugging Face cache "
                    "(python scripts/install_offline_models.py)")
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    server = VLLMServer(python, log=log)
    try:
        server.start()
    except RuntimeError as exc:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        server.stop()
        pytest.fail(f"{exc}\n{tail}")
    yield server
    server.stop()
