"""A shared file can't send requests, or the user's API key, to a server it names (issue #32).

A capture server on 127.0.0.1 records every request; a leaderboard YAML, a saved result's
``meta.json`` (``rankify-lite rerun``) and the Python loader a PyTerrier user takes
(``pipeline_from_meta`` then ``as_transformer``) each name it as an LLM reranker's ``base_url``.
Without the user's consent (``--allow-server URL``, or the address configured in the
environment) each is refused with one line naming the file, the option and the flag, and the
server sees nothing; with consent the requests go there (and only then does the key)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from helpers.small_data import saved_identity_result

from rankify_lite.cli.main import main
from rankify_lite.errors import InputError
from rankify_lite.file_policy import Consent, declared_kinds, normalise_url, undeclared
from rankify_lite.leaderboard import load_config, parse_config
from rankify_lite.pipeline.rebuild import pipeline_from_meta

SECRET = "sk-test-0123456789-never-leaves"


class CaptureServer:
    """Records every request (method, path, headers) and answers HTTP 400 (not retried)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _record(self):
                size = int(self.headers.get("Content-Length") or 0)
                if size:
                    self.rfile.read(size)
                seen.append((self.command, self.path, dict(self.headers)))
                body = b'{"error": "capture server"}'
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _record

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def keys_seen(self) -> list[str]:
        return [h.get("Authorization", "") for _, _, h in self.requests]


@pytest.fixture
def capture(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    for var in ("OPENAI_BASE_URL", "RANKIFY_LITE_SERVERS"):
        monkeypatch.delenv(var, raising=False)
    server = CaptureServer()
    yield server
    server.close()


def _llm_entry(url: str, **options) -> dict:
    return {"name": "llm", "family": "pointwise", "model": "served-model", "depth": 5,
            "options": {"engine": "openai", "base_url": url, "tokenizer": "served-model",
                        **options}}


def _config(url: str, **options) -> dict:
    return {"name": "t", "datasets": ["trec-dl/dl19-passage"],
            "first_stages": [{"name": "bm25", "run": "bm25.top100"}],
            "rerankers": [_llm_entry(url, **options)]}


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("rankify-lite: error:") and "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert SECRET not in err
    return err


# -- leaderboard YAML ---------------------------------------------------------------------------

def test_a_leaderboard_yaml_cant_name_a_server(capture, tmp_path, capsys):
    path = tmp_path / "shared.yaml"
    path.write_text(yaml.safe_dump(_config(capture.url)))
    out = tmp_path / "out"
    assert main(["leaderboard", str(path), "--output", str(out)]) == 2
    err = _one_line_error(capsys)
    assert str(path) in err and "rerankers[0]" in err and "base_url" in err
    assert f"--allow-server {capture.url}" in err
    assert capture.requests == []
    assert not out.exists()  # refused before anything was written


@pytest.mark.parametrize("variable", ["AWS_SECRET_ACCESS_KEY", "HOME"])
def test_a_file_names_only_api_key_variables_even_for_an_allowed_server(capture, variable):
    with pytest.raises(InputError, match=r"\*_API_KEY") as err:
        parse_config(_config(capture.url, api_key_env=variable),
                     consent=Consent(servers=(capture.url,)))
    assert "api_key_env" in str(err.value)
    assert capture.requests == []


def test_a_key_without_a_server_is_refused(capture):
    entry = _llm_entry(capture.url, api_key_env="OTHER_API_KEY")
    del entry["options"]["base_url"]
    with pytest.raises(InputError, match="key is only sent to an address you chose"):
        parse_config({**_config(capture.url), "rerankers": [entry]})


def test_consent_by_flag_or_by_the_environment(capture, monkeypatch):
    cfg = _config(capture.url)
    with pytest.raises(InputError, match="--allow-server"):
        parse_config(cfg)
    assert parse_config(cfg, consent=Consent(servers=(capture.url,))).rerankers[0].options[
        "base_url"] == capture.url
    # the same address written another way is the same address
    port = capture.url.split(":")[2].split("/")[0]
    assert parse_config(cfg, consent=Consent(servers=(f"HTTP://127.0.0.1:{port}/v1/",)))
    monkeypatch.setenv("OPENAI_BASE_URL", capture.url + "/")
    assert parse_config(cfg).rerankers[0].options["base_url"] == capture.url
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("RANKIFY_LITE_SERVERS", f"http://other:1/v1, {capture.url}")
    assert parse_config(cfg)
    assert capture.requests == []


@pytest.mark.parametrize("trick", [
    "{url}/../v2",                              # another path on the allowed host
    "http://127.0.0.1:1/v1",                    # another port
    "http://user@127.0.0.1:{port}/v1",          # credentials in the URL
    "http://127.0.0.1:{port}/v1?x=1",           # a query
    "file:///etc/passwd",                       # not http(s)
])
def test_an_address_that_merely_looks_allowed_is_refused(capture, trick):
    port = capture.url.split(":")[2].split("/")[0]
    url = trick.format(url=capture.url, port=port)
    with pytest.raises(InputError, match="--allow-server"):
        parse_config(_config(url), consent=Consent(servers=(capture.url,)))


def test_normalise_url():
    assert normalise_url("HTTP://Host:80/v1/") == normalise_url("http://host/v1")
    assert normalise_url("https://host/v1") == "https://host:443/v1"
    assert normalise_url("ftp://host") is None and normalise_url(5) is None


def test_free_form_engine_arguments_are_refused_from_files(capture):
    cfg = _config(capture.url)
    cfg["rerankers"][0]["options"] = {"engine": "vllm", "engine_args": {"download_dir": "/"}}
    with pytest.raises(InputError, match="only Python may set"):
        parse_config(cfg)


def test_load_config_names_the_file(capture, tmp_path):
    path = tmp_path / "lb.yaml"
    path.write_text(yaml.safe_dump(_config(capture.url)))
    with pytest.raises(InputError) as err:
        load_config(path)
    assert str(err.value).startswith(str(path)) and "base_url" in str(err.value)


# -- every option is declared -------------------------------------------------------------------

def _all_component_classes():
    from rankify_lite.rerankers.registry import families, options_of
    from rankify_lite.retrievers.registry import FAMILIES, RUN_FAMILIES, _load

    for info in families():
        cls = info.cls()
        yield f"reranker {info.key}", cls, options_of(cls)
    for table in (FAMILIES, RUN_FAMILIES):
        for family, target in table.items():
            cls = _load(target)
            yield f"first stage {family}", cls, options_of(cls)


def test_every_option_of_every_component_is_declared_for_files():
    missing = {what: undeclared(cls, opts) for what, cls, opts in _all_component_classes()}
    assert {k: v for k, v in missing.items() if v} == {}
    from rankify_lite.rerankers.registry import family_info

    kinds = declared_kinds(family_info("pointwise").cls())
    assert (kinds["base_url"], kinds["api_key_env"], kinds["log_path"], kinds["model"]) == (
        "server", "credential", "python", "data")


# -- rerun of a saved result --------------------------------------------------------------------

@pytest.fixture
def saved(shared_data, tmp_path) -> Path:
    """A result saved from a run-file first stage + identity reranker: its meta.json."""
    return saved_identity_result(shared_data, tmp_path, depth=2)


def _point_at(meta_path: Path, url: str, tokenizer: str = "served-model") -> None:
    meta = json.loads(meta_path.read_text())
    meta["pipeline"]["rerankers"][0]["spec"] = {
        "kind": "reranker", "family": "pointwise", "rebuildable": True,
        "options": {"model": "served-model", "engine": "openai", "base_url": url,
                    "tokenizer": tokenizer, "max_retries": 0}}
    meta_path.write_text(json.dumps(meta))


def test_rerun_of_a_meta_json_naming_a_server_sends_nothing(capture, saved, tmp_path, capsys):
    _point_at(saved, capture.url)
    before = saved.read_bytes()
    assert main(["rerun", str(saved), "--output", str(tmp_path / "again")]) == 2
    err = _one_line_error(capsys)
    assert str(saved) in err and "pipeline.rerankers[0].spec.options.base_url" in err
    assert f"--allow-server {capture.url}" in err
    assert capture.requests == []
    assert not (tmp_path / "again").exists() and saved.read_bytes() == before


def test_with_consent_the_requests_and_the_key_go_to_that_server(capture, saved, tmp_path,
                                                                 capsys):
    from helpers.tiny import SMOLLM2, cached_or_skip

    _point_at(saved, capture.url, tokenizer=cached_or_skip(SMOLLM2))
    main(["rerun", str(saved), "--allow-server", capture.url, "--output",
          str(tmp_path / "again")])
    err = capsys.readouterr().err
    assert "capture server" in err and SECRET not in err  # its HTTP 400, scrubbed of the key
    assert capture.requests and set(capture.keys_seen()) == {f"Bearer {SECRET}"}


# -- the Python loader (PyTerrier users) -------------------------------------------------------

def test_pipeline_from_meta_refuses_the_server_too(capture, saved):
    _point_at(saved, capture.url)
    meta = json.loads(saved.read_text())
    with pytest.raises(InputError, match="allow-server") as err:
        pipeline_from_meta(meta, saved.parent, source=str(saved))
    assert str(err.value).startswith(str(saved))
    assert capture.requests == []


def test_a_pyterrier_transformer_from_a_shared_result_needs_consent(capture, saved):
    pytest.importorskip("pyterrier", reason="the pyterrier extra is not installed")
    import pandas as pd
    from helpers.tiny import SMOLLM2, cached_or_skip

    from rankify_lite.interop.pyterrier import as_transformer
    from rankify_lite.rerankers.driver import RerankBatchError

    _point_at(saved, capture.url, tokenizer=cached_or_skip(SMOLLM2))
    meta = json.loads(saved.read_text())
    with pytest.raises(InputError, match="allow-server"):
        pipeline_from_meta(meta, saved.parent)
    pipeline, _ = pipeline_from_meta(meta, saved.parent, consent=Consent(servers=(capture.url,)))
    stage = as_transformer(pipeline.chains[0].stages[0].reranker, depth=2, cache=False)
    frame = pd.DataFrame({"qid": ["q1"], "query": ["what is a cell"], "docno": ["d1"],
                          "text": ["a cell is the unit of life"], "score": [1.0], "rank": [0]})
    with pytest.raises(RerankBatchError, match="capture server"):
        stage.transform(frame)
    assert capture.requests and set(capture.keys_seen()) == {f"Bearer {SECRET}"}


# -- rerun: every offline check before a component that may contact a server (#38, item 7) ------

def _consented(saved: Path, capture) -> list[str]:
    """``saved`` pointing at the capture server, and the flag that consents to it."""
    from helpers.tiny import SMOLLM2, cached_or_skip

    _point_at(saved, capture.url, tokenizer=cached_or_skip(SMOLLM2))
    return ["--allow-server", capture.url]


def _edit(saved: Path, change) -> None:
    meta = json.loads(saved.read_text())
    change(meta)
    saved.write_text(json.dumps(meta))


def test_building_the_consented_reranker_is_what_contacts_the_server(capture, saved):
    """The control for the tests below: once built, the reranker asks its server (/models)."""
    flags = _consented(saved, capture)
    pipeline_from_meta(json.loads(saved.read_text()), saved.parent, source=str(saved),
                       consent=Consent(servers=(flags[1],)))
    assert capture.requests


def _missing_dataset(saved: Path, tmp_path: Path) -> None:
    def change(meta):
        meta["dataset"]["name"] = meta["dataset"]["source"] = str(tmp_path / "gone")
    _edit(saved, change)


def _changed_run_file(saved: Path, tmp_path: Path) -> None:
    run = next(saved.parent.glob("*.trec"))
    run.write_text(run.read_text() + "q-extra Q0 d1 1 1.0 x\n")


def _code_elsewhere(saved: Path, tmp_path: Path) -> None:
    def change(meta):
        meta["pipeline"]["rerankers"].append({
            "family": "cross-encoder", "name": "ce", "spec": {
                "kind": "reranker", "family": "cross-encoder", "rebuildable": True,
                "options": {"model": "org/ce", "trust_remote_code": True}}})
        meta["pipeline"]["systems"].append({"label": "x>>ce", "stages": [{"name": "ce",
                                                                           "depth": 2}]})
    _edit(saved, change)


def _garbled_system(saved: Path, tmp_path: Path) -> None:
    def change(meta):
        meta["pipeline"]["systems"].append({"label": "x>>nobody",
                                            "stages": [{"name": "nobody", "depth": 2}]})
    _edit(saved, change)


def _bad_depth(saved: Path, tmp_path: Path) -> None:
    def change(meta):
        meta["pipeline"]["systems"][0]["stages"][0]["depth"] = -3
    _edit(saved, change)


def _foreign_output(saved: Path, tmp_path: Path) -> None:
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "notes.txt").write_text("the user's own file")


@pytest.mark.parametrize("fault, words", [
    (_missing_dataset, "gone"), (_changed_run_file, "sha256"),
    (_code_elsewhere, "trust-remote-code"), (_garbled_system, "nobody"),
    (_bad_depth, "depth -3"), (_foreign_output, "not empty")])
def test_rerun_checks_everything_offline_before_contacting_a_server(capture, saved, tmp_path,
                                                                    capsys, fault, words):
    flags = _consented(saved, capture)
    fault(saved, tmp_path)
    assert main(["rerun", str(saved), *flags, "--output", str(tmp_path / "again")]) == 2
    assert words in _one_line_error(capsys)
    assert capture.requests == []


@pytest.mark.parametrize("fault", [_garbled_system, _bad_depth])
def test_pipeline_from_meta_checks_the_systems_before_building(capture, saved, tmp_path, fault):
    flags = _consented(saved, capture)
    fault(saved, tmp_path)
    with pytest.raises(InputError):
        pipeline_from_meta(json.loads(saved.read_text()), saved.parent, source=str(saved),
                           consent=Consent(servers=(flags[1],)))
    assert capture.requests == []
