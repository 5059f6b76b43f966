"""``rankify-lite rerankers`` lists every registered family with the options its constructor
takes (the signature is the only list), the reasoning families' thinking options included."""

from __future__ import annotations

import inspect
import json

from helpers.extras import requires

from rankify_lite.cli.main import main
from rankify_lite.rerankers.registry import families


@requires("torch", "transformers", extra="llm")
def test_every_family_is_listed_with_every_constructor_option(capsys):
    assert main(["rerankers", "--json"]) == 0
    rows = {r["family"]: {**r, "options": r["options"].split(", ")}
            for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {f.key for f in families()}
    for info in families():
        row = rows[info.key]
        assert row["description"], info.key
        if not row["available"]:                   # an optional extra is absent: the fix
            assert row["install"].startswith("pip install"), info.key
            continue
        own = [n for n, p in inspect.signature(info.cls().__init__).parameters.items()
               if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        assert set(own) <= set(row["options"]), info.key
        assert row["options"] == list(info.options), info.key
        assert len(set(row["options"])) == len(row["options"]), info.key   # each option once
    for family in ("rank1", "reasonrank"):
        opts = set(rows[family]["options"])
        assert {"thinking", "reasoning_token_budget", "engine", "base_url",
                "tensor_parallel_size", "prompt", "query_batch_size"} <= opts, family
    assert {"window_size", "stride", "max_new_tokens"} <= set(rows["reasonrank"]["options"])


@requires("torch", "transformers", extra="llm")
def test_text_listing_names_the_reasoning_families_and_their_options(capsys):
    assert main(["rerankers"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for family in ("rank1", "reasonrank"):
        assert "thinking, reasoning_token_budget" in lines[family]
    assert "jhu-clsp/rank1-7b" in lines["rank1"] and "liuwenhan/reasonrank-7B" in lines["reasonrank"]


def test_listing_says_whether_each_default_model_is_here(capsys, monkeypatch, tmp_path):
    """A default model counts as loadable only when its weights are on this machine: with an
    empty Hugging Face cache none is, and offline the listing says it cannot load."""
    from rankify_lite.models import local_weights

    real = local_weights.weights_here
    monkeypatch.setattr(local_weights, "weights_here",
                        lambda model, **kw: real(model, cache_dir=tmp_path / "empty-hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["rerankers", "--json"]) == 0
    rows = {r["family"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["cross-encoder"]["weights_here"] is None
    assert rows["identity"]["default_model"] == "" and rows["identity"]["weights_here"] is None
    assert main(["rerankers"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "no (offline: not loadable)" in lines["cross-encoder"]
    assert "yes (" not in lines["cross-encoder"]
    # a family whose default model is cached says so
    snap = tmp_path / "empty-hub" / "models--cross-encoder--ms-marco-MiniLM-L6-v2"
    (snap / "refs").mkdir(parents=True)
    (snap / "refs" / "main").write_text("1" * 40)
    (snap / "snapshots" / ("1" * 40)).mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (snap / "snapshots" / ("1" * 40) / name).write_text("{}")
    assert main(["rerankers", "--json"]) == 0
    rows = {r["family"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["cross-encoder"]["weights_here"] == "cache"
