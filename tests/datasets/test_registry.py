import pytest

from rankify_lite import load_dataset
from rankify_lite.datasets import DatasetGroup
from rankify_lite.datasets.registry import BUNDLED, load_beir_folder
from rankify_lite.errors import DatasetNotFoundError


def test_bundled_scifact_counts(scifact):
    assert len(scifact.corpus) == 5183
    assert len(scifact.queries) == 300
    assert scifact.qrels.num_judgments == 339


def test_bundled_equals_shared_copy(scifact, shared_data):
    shared = load_beir_folder(shared_data / "beir" / "scifact")
    assert shared.content_hash() == scifact.content_hash()


def test_name_resolves_without_data_dir(monkeypatch):
    monkeypatch.delenv("RANKIFY_LITE_DATA", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent-home")
    ds = load_dataset("beir/scifact")
    assert ds.metadata["source"] == str(BUNDLED["beir/scifact"])
    assert ds.remove_self_hits and ds.rel_level == 1


def test_data_dir_names_and_aliases(shared_data):
    dl19 = load_dataset("dl19")
    assert dl19.name == "trec-dl/dl19-passage"
    assert (len(dl19.corpus), len(dl19.queries), dl19.qrels.num_judgments) == (8056, 43, 9260)
    assert dl19.rel_level == 2 and not dl19.remove_self_hits
    assert "bm25.top100" in dl19.runs
    arguana = load_dataset("beir/arguana")
    assert arguana.corpus is None and arguana.remove_self_hits


def test_cqadupstack_is_a_group_of_twelve(shared_data):
    group = load_dataset("beir/cqadupstack")
    assert isinstance(group, DatasetGroup) and len(group.parts) == 12


def test_unknown_name_lists_close_matches():
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("beir/scifakt")
    assert "beir/scifact" in str(err.value)
    assert "Fix:" in str(err.value)


def test_missing_alias_is_not_proposed_back(monkeypatch):
    from rankify_lite.datasets import registry

    monkeypatch.setattr(registry, "data_dirs", lambda: [])  # a machine without the DL sets:
    monkeypatch.setattr(registry, "BUNDLED", {"beir/scifact": BUNDLED["beir/scifact"]})  # nor bundled
    for typed in ("dl19", "trec-dl/dl19-passage"):
        with pytest.raises(DatasetNotFoundError) as err:
            load_dataset(typed)
        message = str(err.value)
        assert message.startswith(f"unknown dataset {typed!r}.")
        hint = message.split("Did you mean: ", 1)[1].split("?", 1)[0] if "Did you mean" in message else ""
        proposed = [h.strip() for h in hint.split(",") if h.strip()]
        assert typed not in proposed
        assert not {"dl19", "dl19-passage", "trec-dl/dl19-passage", "trec-dl-2019"} & set(proposed)


def test_path_that_is_not_a_dataset(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="not a dataset folder"):
        load_dataset(tmp_path)


def test_missing_split_lists_available(tmp_path, shared_data):
    with pytest.raises(DatasetNotFoundError, match="test.tsv"):
        load_dataset(shared_data / "beir" / "scifact", split="dev")
