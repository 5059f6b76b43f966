"""The one loader of saved results (pipeline/saved.py, issue #38 item 4): run files confined to
the folder, each checked against its recorded sha256; a changed one refused in one line naming
the caller's flag, or (allowed) listed; used by ``rerun`` too."""

from __future__ import annotations

import json

import pytest
from helpers.report_folders import write_dataset, write_result
from helpers.small_data import saved_identity_result

from rankify_lite.cli.main import main
from rankify_lite.errors import InputError
from rankify_lite.pipeline.saved import open_saved


@pytest.fixture
def meta(tmp_path):
    data = write_dataset(tmp_path / "data", {"q1": "one"}, {"d0": "a", "d1": "b"},
                         {"q1": {"d0": 1}})
    return write_result(tmp_path / "result", data, {"bm25": {"q1": ["d0", "d1"]},
                                                    "bm25>>x": {"q1": ["d1", "d0"]}})


def test_an_untouched_folder_opens_by_folder_or_by_meta(meta):
    for where in (meta, meta.parent):
        saved = open_saved(where)
        assert saved.verified and saved.changed == () and saved.meta_path == meta
        assert [f.system for f in saved.files] == ["bm25", "bm25>>x"]
        assert list(saved.read_run("bm25>>x")["q1"].doc_ids) == ["d1", "d0"]


def test_a_changed_file_names_the_flag_and_is_listed_when_allowed(meta):
    (meta.parent / "run1.trec").write_text("q1 Q0 d0 1 2 t\nq1 Q0 d1 2 1 t\n")
    with pytest.raises(InputError) as exc:
        open_saved(meta, flag="--my-flag")
    assert "run1.trec" in str(exc.value) and "--my-flag" in str(exc.value)
    assert len(str(exc.value).splitlines()) == 1
    saved = open_saved(meta, allow_changed=True)
    assert [f.system for f in saved.changed] == ["bm25>>x"]
    assert list(saved.read_run("bm25>>x")["q1"].doc_ids) == ["d0", "d1"]


@pytest.mark.parametrize("text", ["{not json", "[1]", "\"a string\"",
                                  '{"files": {}, "x": ' + "9" * 5000 + "}"],
                         ids=["not-json", "a-list", "a-string", "5000-digits"])
def test_garbled_meta_is_one_line(meta, text):
    meta.write_text(text)
    with pytest.raises(InputError, match="meta.json"):
        open_saved(meta)


def test_a_missing_run_file_is_refused_when_read(meta):
    (meta.parent / "run0.trec").unlink()
    saved = open_saved(meta)                     # rerun of a shipped run needs no copy
    with pytest.raises(InputError, match="run0.trec"):
        saved.read_run("bm25")


def test_rerun_refuses_a_changed_reranker_file_and_records_it_when_allowed(shared_data,
                                                                          tmp_path, capsys):
    saved = saved_identity_result(shared_data, tmp_path, depth=5)
    data = json.loads(saved.read_text())
    (system, fname), = [(s, f) for s, f in data["files"].items() if ">>" in s]
    path = saved.parent / fname
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-3]))
    assert main(["rerun", str(saved)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fname in err and "--allow-changed-data" in err
    assert main(["rerun", str(saved), "--allow-changed-data", "--output",
                 str(tmp_path / "again")]) == 0
    capsys.readouterr()
    record = json.loads((tmp_path / "again" / "meta.json").read_text())["rerun"]
    assert [(c["what"], c["name"]) for c in record["changed"]] == [("run-file", system)]


def test_pipeline_from_meta_checks_the_first_stage_copy_it_rebuilds_from(tmp_path):
    """The Python route (pipeline_from_meta, what PyTerrier users take) reads the first-stage
    copy through the same loader: an edited copy is refused unless allow_changed=True."""
    from rankify_lite import Pipeline
    from rankify_lite.io.trec import read_run
    from rankify_lite.pipeline.rebuild import pipeline_from_meta
    from rankify_lite.rerankers import load_reranker

    data = write_dataset(tmp_path / "data", {"q1": "one", "q2": "two"},
                         {"d0": "a", "d1": "b", "d2": "c"}, {"q1": {"d0": 1}, "q2": {"d2": 1}})
    trec = tmp_path / "given.trec"
    trec.write_text("q1 Q0 d1 1 3 t\nq1 Q0 d0 2 2 t\nq2 Q0 d2 1 3 t\nq2 Q0 d0 2 1 t\n")
    result = Pipeline(read_run(trec, name="given"), load_reranker("identity"), depth=2,
                      cache=False, progress=False).run(str(data))
    result.save(tmp_path / "result")
    meta = json.loads((tmp_path / "result" / "meta.json").read_text())
    assert meta["pipeline"]["retriever"]["family"] == "given-run"
    pipeline, _ = pipeline_from_meta(meta, tmp_path / "result")   # untouched: rebuilds
    copy = tmp_path / "result" / meta["files"]["given"]
    copy.write_text("q1 Q0 d0 1 3 t\nq1 Q0 d1 2 2 t\nq2 Q0 d2 1 3 t\nq2 Q0 d0 2 1 t\n")
    with pytest.raises(InputError) as exc:
        pipeline_from_meta(meta, tmp_path / "result")
    message = str(exc.value)
    assert len(message.splitlines()) == 1 and meta["files"]["given"] in message
    assert "allow_changed=True" in message and "recorded" in message
    pipeline, _ = pipeline_from_meta(meta, tmp_path / "result", allow_changed=True)
    again = pipeline.run(str(data))
    assert list(again.first_stage["q1"].doc_ids) == ["d0", "d1"]   # the edited copy, as asked


def _rewrite(meta, **changes):
    data = json.loads(meta.read_text())
    for key, value in changes.items():
        data[key] = value
    meta.write_text(json.dumps(data))


def test_two_systems_naming_one_run_file_are_refused(meta):
    """Two systems, one file: the report would show one system's scores under the other's
    name (#38 item 2, read side); a hash copied with the name hides nothing."""
    data = json.loads(meta.read_text())
    _rewrite(meta, files={"bm25": "run0.trec", "bm25>>x": "run0.trec"},
             file_sha256={s: data["file_sha256"]["bm25"] for s in ("bm25", "bm25>>x")})
    for spelling in ("run0.trec", "./run0.trec", "sub/../run0.trec"):
        _rewrite(meta, files={"bm25": "run0.trec", "bm25>>x": spelling})
        with pytest.raises(InputError) as exc:
            open_saved(meta)
        message = str(exc.value)
        assert len(message.splitlines()) == 1 and "meta.json" in message
        assert "'bm25>>x'" in message and "Fix:" in message


@pytest.mark.parametrize("fname", ["a\u0000b", "x" * 300, "/etc/passwd", "../run0.trec",
                                   "sub/../../run0.trec", "C:\\x.trec", "", 3, None])
def test_a_bad_run_file_name_is_one_line_naming_the_field(meta, fname, capsys):
    _rewrite(meta, files={"bm25": fname, "bm25>>x": "run1.trec"})
    with pytest.raises(InputError) as exc:
        open_saved(meta)
    message = str(exc.value)
    assert len(message.splitlines()) == 1 and "files['bm25']" in message
    assert "meta.json" in message and "Fix:" in message
    for command in (["report", str(meta.parent), "-o", str(meta.parent.parent / "r.html")],
                    ["rerun", str(meta.parent)]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "files['bm25']" in err
