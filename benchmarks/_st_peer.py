"""sentence-transformers' own CPU backends as a timed peer, in this process or in another
Python environment (its OpenVINO backend needs optimum-intel, whose releases pin a
transformers older than ours, so it lives in ~/.cache/rankify-lite/st-openvino; make it with
``python -m venv ~/.cache/rankify-lite/st-openvino && ~/.cache/rankify-lite/st-openvino/bin/pip
install -c constraints.txt "optimum-intel[openvino]==2.2.0" nncf==3.4.0
sentence-transformers==6.2.0 datasets && ~/.cache/rankify-lite/st-openvino/bin/pip uninstall -y
torchvision`` (optimum-intel pulls a torchvision that does not import beside our torch wheel, and
transformers then fails to import ``PreTrainedModel``); no test needs it, so CI does not build it).

``Peer(python)`` starts ``python benchmarks/_st_peer.py`` as a worker and talks to it over
JSON lines: ``load`` builds a model (``SentenceTransformer`` or ``CrossEncoder`` with
``backend="torch" | "openvino"``, or their static int8 OpenVINO recipe,
``export_static_quantized_openvino_model`` calibrated on texts we pass), ``run`` times one
``encode`` / ``predict`` over the inputs sent once with ``load`` and returns the seconds and
the outputs (through a .npy file). The benchmark interleaves these calls with its own paths,
so the peer and ours see the same machine load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_VENV = Path.home() / ".cache" / "rankify-lite" / "st-openvino"


class Peer:
    """One worker process; models are named, loaded once, then timed by ``run``."""

    def __init__(self, python: str | Path, threads: int) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false"}
        self.proc = subprocess.Popen([str(python), str(Path(__file__).resolve()), str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env)
        self.versions = self._call({"op": "versions"})

    def _call(self, msg: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"sentence-transformers worker died on {msg.get('op')}")
        out = json.loads(line)
        if "error" in out:
            raise RuntimeError(out["error"])
        return out

    def load(self, name: str, **spec: Any) -> None:
        self._call({"op": "load", "name": name, **spec})

    def run(self, name: str, out_file: Path) -> float:
        return float(self._call({"op": "run", "name": name, "out": str(out_file)})["seconds"])

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


# ---------------------------------------------------------------------------- worker side
def _calibration_folder(root: Path, texts: list[str]) -> Path:
    folder = root / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.jsonl", "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    return folder


def _build(spec: dict[str, Any]) -> Any:
    import sentence_transformers as st

    cls = st.SentenceTransformer if spec["kind"] == "dense" else st.CrossEncoder
    extra = {} if spec["kind"] == "dense" else {"max_length": spec.get("max_length", 512)}
    backend = spec["backend"]
    if backend != "openvino-int8":
        return cls(spec["path"], backend=backend, device="cpu", **extra)
    from sentence_transformers import export_static_quantized_openvino_model

    out_dir = Path(spec["work"])
    model = cls(spec["path"], backend="openvino", device="cpu", **extra)
    model.save_pretrained(str(out_dir))
    calib = _calibration_folder(out_dir, spec["calibration"])
    export_static_quantized_openvino_model(model, None, str(out_dir), dataset_name=str(calib),
                                           dataset_config_name="default",
                                           dataset_split="train", column_name="text")
    return cls(str(out_dir), backend="openvino", device="cpu", **extra, model_kwargs={
        "file_name": "openvino/openvino_model_qint8_quantized.xml"})


def worker(threads: int) -> None:
    proto = os.fdopen(os.dup(1), "w")  # the protocol channel; anything printed goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import torch

    torch.set_num_threads(threads)
    models: dict[str, tuple[Any, dict[str, Any]]] = {}
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            if msg["op"] == "versions":
                import sentence_transformers
                import transformers

                out: dict[str, Any] = {"sentence_transformers": sentence_transformers.__version__,
                                       "transformers": transformers.__version__,
                                       "torch": torch.__version__}
                try:
                    import openvino
                    import optimum.intel  # noqa: F401

                    out["openvino"] = openvino.__version__
                except Exception:  # noqa: BLE001 - no OpenVINO here: the torch backend only
                    pass
            elif msg["op"] == "load":
                model = _build(msg)
                models[msg["name"]] = (model, msg)
                out = {"ok": True}
            else:
                model, spec = models[msg["name"]]
                bs = int(spec.get("batch_size", 32))
                t0 = time.perf_counter()
                if spec["kind"] == "dense":
                    res = model.encode(spec["texts"], batch_size=bs, convert_to_numpy=True)
                else:
                    res = model.predict([tuple(p) for p in spec["pairs"]], batch_size=bs)
                seconds = time.perf_counter() - t0
                np.save(msg["out"], np.asarray(res, dtype=np.float64))
                out = {"seconds": seconds}
        except Exception as exc:  # noqa: BLE001 - reported to the benchmark, which says so
            out = {"error": f"{type(exc).__name__}: {exc}"}
        proto.write(json.dumps(out) + "\n")
        proto.flush()


if __name__ == "__main__":
    worker(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
