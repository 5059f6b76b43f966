"""weights_here: a model is "here" only when its config and a weights file are on this machine,
in a local folder or a Hugging Face cache snapshot; asked offline, without loading anything."""

from __future__ import annotations

from rankify_lite.models.local_weights import weights_here


def _snapshot(cache, repo: str, files: dict[str, str]) -> None:
    """A Hugging Face cache entry laid out as huggingface_hub writes it."""
    root = cache / f"models--{repo.replace('/', '--')}"
    sha = "0" * 40
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(sha)
    snap = root / "snapshots" / sha
    snap.mkdir(parents=True)
    for name, text in files.items():
        (snap / name).write_text(text)


def test_cached_snapshot_with_weights_is_here(tmp_path):
    _snapshot(tmp_path, "org/full", {"config.json": "{}", "model.safetensors": "w"})
    _snapshot(tmp_path, "org/config-only", {"config.json": "{}"})
    assert weights_here("org/full", cache_dir=tmp_path) == "cache"
    assert weights_here("org/config-only", cache_dir=tmp_path) is None   # weights missing
    assert weights_here("org/never-downloaded", cache_dir=tmp_path) is None


def test_local_folder_needs_config_and_weights(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert weights_here(str(folder)) is None
    (folder / "pytorch_model.bin").write_text("w")
    assert weights_here(str(folder)) == "folder"
    assert weights_here(str(tmp_path / "absent")) is None
