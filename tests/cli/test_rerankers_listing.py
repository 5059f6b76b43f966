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
