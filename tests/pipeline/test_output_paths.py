"""Names become file names injectively, inside the chosen folder, checked before computing."""

from __future__ import annotations

import json

import pytest
from helpers.slow_reranker import HashReranker
from helpers.tiny_folder import tiny_folder

from rankify_lite import Pipeline, load_reranker
from rankify_lite.errors import InputError
from rankify_lite.io.trec import read_run
from rankify_lite.names import MAX_NAME
from rankify_lite.retrievers.runs import RunFile
from rankify_lite.systems import SystemId


class Refuse(HashReranker):
    """A reranker whose first batch fails the test: proves a refusal came before any work."""

    family = "refuse-test"

    def _rerank_batch(self, items):
        raise AssertionError("computed before the refusal")


@pytest.fixture
def data(tmp_path):
    return tiny_folder(tmp_path / "data")


def _pipeline(run, *rerankers):
    return Pipeline(RunFile(run, name="first"), list(rerankers), depth=3, cache=False,
                    progress=False)


@pytest.mark.parametrize(("one", "other"), [("x/y", "x_y"), ("A", "a"), ("a b", "a_b"),
                                            ("x" * MAX_NAME, "x" * (MAX_NAME - 1) + "y")])
def test_two_confusable_names_keep_two_files_and_two_hashes(data, tmp_path, one, other):
    folder, run = data
    result = _pipeline(run, load_reranker("identity").named(one),
                       HashReranker().named(other)).run(str(folder))
    meta = json.loads(result.save(tmp_path / "out").read_text())
    files = meta["files"]
    assert len(set(files.values())) == 3 and len({f.casefold() for f in files.values()}) == 3
    assert len(set(meta["file_sha256"].values())) == 3
    for label, fname in files.items():     # each file holds its own system's run
        assert len(fname.encode()) < 200
        saved = read_run(tmp_path / "out" / fname, name=label)
        assert saved.content_hash() == result.runs[label].content_hash()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [*files.values(), "meta.json"])


@pytest.mark.parametrize("name", ["y" * 300, "a\nb", "a\x00b", "a>>b", ""])
def test_a_bad_stage_name_is_refused_where_it_is_declared(name):
    with pytest.raises(InputError, match="the stage name"):
        load_reranker("identity", name=name)
    with pytest.raises(InputError, match="the stage name"):
        HashReranker().named(name)


@pytest.mark.parametrize("name", ["y" * 300, "a\nb", "a>>b"])
def test_a_bad_first_stage_name_is_refused_where_it_is_declared(data, name):
    _, run = data
    with pytest.raises(InputError, match="the run file's name"):
        RunFile(run, name=name)
    from rankify_lite.retrievers.runs import GivenRun

    with pytest.raises(InputError, match="the given run's name"):
        GivenRun(read_run(run, name=name[:5] or "x").replace(name=name))


def test_a_collision_is_refused_before_anything_is_computed(data, monkeypatch):
    _, run = data
    monkeypatch.setattr(SystemId, "filename", property(lambda self: "one"))
    with pytest.raises(InputError, match="would be saved to one file, 'one.trec'"):
        _pipeline(run, Refuse().named("a"))


@pytest.mark.parametrize("user_file", ["first__keep.trec", "first.trec", "notes.txt"])
def test_save_never_replaces_a_users_file(data, tmp_path, user_file):
    folder, run = data
    result = _pipeline(run, load_reranker("identity").named("keep")).run(str(folder))
    out = tmp_path / "mine"
    out.mkdir()
    (out / user_file).write_text("the user's own file")
    for overwrite in (False, True):
        with pytest.raises(InputError, match="holds no saved result"):
            result.save(out, overwrite=overwrite)
    assert [p.name for p in out.iterdir()] == [user_file]
    assert (out / user_file).read_text() == "the user's own file"


def test_overwrite_replaces_only_what_the_old_result_wrote(data, tmp_path):
    folder, run = data
    out = tmp_path / "out"
    first = _pipeline(run, load_reranker("identity").named("old")).run(str(folder))
    first.save(out)
    with pytest.raises(InputError, match="already holds a saved result"):
        first.save(out)
    second = _pipeline(run, load_reranker("identity").named("new")).run(str(folder))
    second.save(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["first.trec", "first__new.trec",
                                                     "meta.json"]
    (out / "first__newer.trec").write_text("a user's file beside the result")
    third = _pipeline(run, load_reranker("identity").named("newer")).run(str(folder))
    with pytest.raises(InputError, match="first__newer.trec, which the saved result there did "
                                         "not write"):
        third.save(out, overwrite=True)
    assert (out / "first__newer.trec").read_text() == "a user's file beside the result"
    assert json.loads((out / "meta.json").read_text())["files"]["first>>new"] == \
        "first__new.trec"


def test_a_tampered_record_never_deletes_outside_or_non_run_files(data, tmp_path):
    folder, run = data
    out, victim = tmp_path / "out", tmp_path / "victim.trec"
    victim.write_text("outside")
    result = _pipeline(run, load_reranker("identity")).run(str(folder))
    meta = json.loads(result.save(out).read_text())
    (out / "notes.txt").write_text("mine")
    meta["files"]["x"], meta["files"]["y"] = "../victim.trec", "notes.txt"
    (out / "meta.json").write_text(json.dumps(meta))
    result.save(out, overwrite=True)
    assert victim.read_text() == "outside" and (out / "notes.txt").read_text() == "mine"


def test_a_result_saved_under_old_file_names_still_reruns(data, tmp_path):
    """Readers use the file names meta.json records, not today's SystemId.filename."""
    from rankify_lite.cli.main import main

    folder, run = data
    out = tmp_path / "old"
    result = _pipeline(run, load_reranker("identity").named("X/Y")).run(str(folder))
    meta = json.loads(result.save(out).read_text())
    new_name = meta["files"]["first>>X/Y"]
    assert new_name != "first__X_Y.trec"
    (out / new_name).rename(out / "first__X_Y.trec")   # how it was named before (#38)
    meta["files"]["first>>X/Y"] = "first__X_Y.trec"
    (out / "meta.json").write_text(json.dumps(meta))
    assert main(["rerun", str(out / "meta.json"), "--output", str(tmp_path / "new")]) == 0
    assert (tmp_path / "new" / new_name).read_bytes() == (out / "first__X_Y.trec").read_bytes()


@pytest.mark.parametrize("value", ["a>>b", "c" * 300, "tab\there\n", "rtl\u202e"])
def test_derived_names_follow_the_name_rule(value):
    """Two rerankers of one family told apart by an option: the value shown in the derived
    name is printable, short, and cannot split the system label at '>>'."""
    from rankify_lite.names import check_name
    from rankify_lite.pipeline.naming import stage_names

    a, b = HashReranker(fail_on=value), HashReranker(fail_on=value + "x")
    names = list(stage_names([a, b]).values())
    assert len(set(names)) == 2
    for name in names:
        assert check_name(name, "a derived name") == name
