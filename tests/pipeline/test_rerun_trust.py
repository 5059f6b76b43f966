"""A saved result's meta.json is untrusted data (issue #23): it can't enable remote code, write
files, read run files outside its folder, pick a component's kind, or rerun on other data.

Each test edits a real saved result (a small DL19 copy) the way a shared file could and checks
that ``rankify-lite rerun`` refuses with one line, before anything is built or read."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.small_data import saved_identity_result, small_dl19

from rankify_lite import Pipeline, load_dataset
from rankify_lite.cli.main import main
from rankify_lite.errors import InputError


@pytest.fixture
def saved(shared_data, tmp_path) -> Path:
    """A result saved from a run-file first stage + identity reranker: its meta.json."""
    return saved_identity_result(shared_data, tmp_path, depth=5)


def _edit(meta: Path, change) -> None:
    data = json.loads(meta.read_text())
    change(data)
    meta.write_text(json.dumps(data))


def _refused(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert re.match(r"rankify-lite( \w+)?: error:", err) and "Traceback" not in err
    assert len(err.splitlines()) == 1
    return err


def test_an_untouched_result_reruns_and_records_the_check(saved, tmp_path, capsys):
    assert main(["rerun", str(saved), "--output", str(tmp_path / "again")]) == 0
    capsys.readouterr()
    again = json.loads((tmp_path / "again" / "meta.json").read_text())
    assert again["rerun"]["changed"] == [] and again["rerun"]["trust_remote_code"] is False
    assert again["metrics"] == json.loads(saved.read_text())["metrics"]
    assert set(again["file_sha256"]) == set(again["files"])


def test_trust_remote_code_from_the_file_needs_the_flag(saved, tmp_path, capsys):
    model = tmp_path / "evil-model"
    model.mkdir()
    marker = tmp_path / "marker"
    (model / "config.json").write_text(json.dumps(
        {"model_type": "evil", "auto_map": {"AutoConfig": "evil.EvilConfig"}}))
    (model / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")

    def ask(meta):
        meta["pipeline"]["rerankers"][0]["spec"] = {
            "kind": "reranker", "family": "cross-encoder",
            "options": {"model": str(model), "trust_remote_code": True}, "rebuildable": True}
    _edit(saved, ask)
    err = _refused(capsys, ["rerun", str(saved)])
    assert "pipeline.rerankers[0].spec.options.trust_remote_code" in err
    assert "--trust-remote-code" in err and str(saved) in err
    assert not marker.exists()
    from rankify_lite.pipeline.trust import sanitize_meta

    meta = json.loads(saved.read_text())  # the flag lets it through (the user's own decision)
    assert sanitize_meta(meta, saved.parent, trust_remote_code=True)["pipeline"]["rerankers"]


def test_write_options_from_the_file_are_refused(saved, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")

    def log(meta):
        meta["pipeline"]["rerankers"][0]["spec"] = {
            "kind": "reranker", "family": "pointwise",
            "options": {"model": "x", "log_path": str(victim)}, "rebuildable": True}
    _edit(saved, log)
    err = _refused(capsys, ["rerun", str(saved)])
    assert "log_path" in err and "only Python may set" in err
    assert victim.read_text() == "keep\n"


def test_run_file_path_in_the_spec_is_never_read(saved, tmp_path, capsys):
    def elsewhere(meta):
        meta["pipeline"]["first_stage"]["options"]["path"] = "../../../../../../etc/passwd"
    _edit(saved, elsewhere)
    # rebuilt from the copy saved in the folder: the same numbers, /etc/passwd never opened
    assert main(["rerun", str(saved), "--output", str(tmp_path / "again")]) == 0
    capsys.readouterr()
    again = json.loads((tmp_path / "again" / "meta.json").read_text())
    assert again["metrics"] == json.loads(saved.read_text())["metrics"]
    assert Path(again["pipeline"]["first_stage"]["options"]["path"]).parent == saved.parent


@pytest.mark.parametrize("fname", ["/etc/hostname", "../data/runs/run.bm25.top10.trec"])
def test_files_entries_outside_the_folder_are_refused(saved, capsys, fname):
    def point(meta):
        first = meta["pipeline"]["retriever"]["name"]
        meta["files"][first] = fname
    _edit(saved, point)
    err = _refused(capsys, ["rerun", str(saved)])
    assert "outside the result folder" in err


def test_a_changed_first_stage_copy_is_refused_unless_allowed(saved, tmp_path, capsys):
    meta = json.loads(saved.read_text())
    first = saved.parent / meta["files"][meta["pipeline"]["retriever"]["name"]]
    lines = first.read_text().splitlines(keepends=True)
    first.write_text("".join(lines[:-5]))  # another run under the same name
    err = _refused(capsys, ["rerun", str(saved)])
    assert "first-stage run" in err and "sha256" in err and "--allow-changed-data" in err
    assert main(["rerun", str(saved), "--allow-changed-data", "--output",
                 str(tmp_path / "again")]) == 0
    capsys.readouterr()
    record = json.loads((tmp_path / "again" / "meta.json").read_text())["rerun"]
    assert record["allow_changed_data"] is True
    assert [c["what"] for c in record["changed"]] == ["first-stage"]


@pytest.mark.parametrize("where", ["reranker", "first_stage"])
def test_kind_comes_from_where_the_spec_sits(saved, capsys, where):
    def retype(meta):
        spec = (meta["pipeline"]["rerankers"][0]["spec"] if where == "reranker"
                else meta["pipeline"]["first_stage"])
        spec["kind"] = "retriever" if where == "reranker" else "reranker"
    _edit(saved, retype)
    err = _refused(capsys, ["rerun", str(saved)])
    assert "claims kind" in err and "AttributeError" not in err


def test_a_subset_result_is_not_rerun_on_the_whole_dataset(shared_data, tmp_path, capsys):
    data = small_dl19(shared_data, tmp_path / "data")
    ds = load_dataset(str(data))
    subset = replace(ds, queries=ds.queries.__class__(
        {q: ds.queries[q] for q in list(ds.queries)[:3]}))
    result = Pipeline("run:bm25.top10", cache=False, progress=False).run(subset)
    result.save(tmp_path / "result")
    meta = tmp_path / "result" / "meta.json"
    err = _refused(capsys, ["rerun", str(meta)])
    assert "not the one this result was computed on" in err
    assert "3 queries recorded, 6 now" in err
    assert main(["rerun", str(meta), "--allow-changed-data", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rerun"]["changed"][0]["what"] == "dataset"
    assert out["dataset"]["queries"] == 6


@pytest.mark.parametrize("k", [0, -1, -95])
def test_k_below_one_is_refused_in_the_api_the_cli_and_meta(saved, capsys, k):
    with pytest.raises(InputError, match=r"k \(.*first-stage depth\) must be"):
        Pipeline("run:bm25.top100", k=k)
    err = _refused(capsys, ["run", "--dataset", str(saved.parent.parent / "data"), "--retriever",
                            "run:bm25.top10", "--no-cache", "-k", str(k)])
    assert f"-k '{k}' is out of range: it must be a whole number >= 1" in err

    def set_k(meta):
        meta["pipeline"]["k"] = k
    _edit(saved, set_k)
    assert "first-stage depth) must be" in _refused(capsys, ["rerun", str(saved)])


@pytest.mark.parametrize("change, needle", [
    ({"family": "run-file", "options": {"path": "/etc/passwd"}}, "outside the result folder"),
    ({"kind": "reranker", "family": "bm25", "options": {}}, "claims kind"),
])
def test_nested_specs_are_checked_too(saved, capsys, change, needle):
    def fuse(meta):
        meta["pipeline"]["first_stage"] = {
            "kind": "retriever", "family": "fusion", "rebuildable": True,
            "options": {"retrievers": [{"$spec": {"rebuildable": True, **change}}]}}
    _edit(saved, fuse)
    assert needle in _refused(capsys, ["rerun", str(saved)])


def test_a_file_cant_send_other_secrets_to_a_server(saved, capsys):
    def leak(meta):
        meta["pipeline"]["rerankers"][0]["spec"] = {
            "kind": "reranker", "family": "pointwise", "rebuildable": True,
            "options": {"model": "x", "engine": "openai", "base_url": "http://127.0.0.1:9",
                        "api_key_env": "AWS_SECRET_ACCESS_KEY"}}
    _edit(saved, leak)
    err = _refused(capsys, ["rerun", str(saved)])  # the server itself first
    assert "base_url" in err and "--allow-server http://127.0.0.1:9" in err
    err = _refused(capsys, ["rerun", str(saved), "--allow-server", "http://127.0.0.1:9"])
    assert "AWS_SECRET_ACCESS_KEY" in err and "*_API_KEY" in err
