"""The documentation site: `mkdocs build --strict` passes (no broken link, no page left out of
the nav, no missing included file, no docstring the API reference cannot read), every code block
in docs/ runs as the README's do (tests/helpers/doc_blocks.py), and the built site's search box,
in a headless Chromium, finds a page."""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from helpers.doc_blocks import REPO, commands, run_example, skip_without_weights, weights_needed

DOCS = REPO / "docs"


def _nav_pages(nav) -> list[str]:
    pages = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


PAGES = _nav_pages(yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"])
COMMANDS = [(f"{page[:-3]}:{name}", code) for page in PAGES
            for name, code in commands((DOCS / page).read_text())]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason='the docs extra is not installed (pip install -e ".[docs]")')
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml",
                           "-d", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-5000:]}"
    return out


def test_every_page_is_in_the_nav_and_the_site_builds_strictly(site):
    on_disk = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert on_disk == sorted(PAGES)
    for page in PAGES:
        html = site / (page[:-3].removesuffix("index") + "/index.html").lstrip("/")
        assert html.is_file(), f"{page} was not built"
    # the reference is generated from the docstrings, and the numbers are included, not copied
    assert "Dataset" in (site / "reference/datasets/index.html").read_text()
    assert "Benchmark results" in (site / "benchmarks/index.html").read_text()
    assert (site / "benchmarks/leaderboards/main/latency.png").is_file()
    assert "--8&lt;--" not in "".join(p.read_text() for p in site.rglob("*.html"))


def test_the_docs_have_examples():
    kinds = {name.split(":")[1].split("-")[0] for name, _ in COMMANDS}
    assert {"python", "bash"} <= kinds


#: a measured figure: a decimal with 3+ significant digits (0.5058, 125.6, 0.073) or a ratio
#: (3.3x), outside code (a block's comments show what it prints) and outside included files
MEASURED = re.compile(r"(?<![\w.^/@-])(?:\d+\.\d+x|0?\.\d{3,}|[1-9]\d*\.\d{2,}|[1-9]\d+\.\d+)(?![\w.])")
#: published reference scores (the expected-scores file's), which a page may quote
PUBLISHED = set(re.findall(r"\d+\.\d+", (REPO / "benchmarks/expected/main.yaml").read_text()))
#: pages whose measured figures are still typed in (none left), to move into their benchmark section's notes
#: in benchmarks/RESULTS.md and include (as how-to/cpu-backends.md and how-to/ray.md do)
TYPED_IN: set[str] = set()


def _typed_figures(markdown: str) -> list[str]:
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [f for f in MEASURED.findall(text) if f not in PUBLISHED]


def test_measured_numbers_come_from_an_include():
    """Numbers in docs come from benchmarks/RESULTS.md or the leaderboard's files by inclusion
    (--8<--), never typed in, so a rerun of a benchmark cannot leave a page stale."""
    assert _typed_figures("took 125.6 docs/s, 3.3x faster, p 0.073 (`1.234` in code)") == [
        "125.6", "3.3x", "0.073"]
    assert _typed_figures("nDCG@10 0.5058 as published; DL19 has 43 queries, 9,260 qrels") == []
    typed = {page: _typed_figures((DOCS / page).read_text()) for page in PAGES}
    assert {page for page, figures in typed.items() if figures and page not in TYPED_IN} == set(), {
        page: figures[:5] for page, figures in typed.items() if page not in TYPED_IN}
    assert all(typed[page] for page in TYPED_IN), "a page is clean now: drop it from TYPED_IN"


def test_an_example_that_loads_hub_weights_skips_without_them(monkeypatch):
    import huggingface_hub

    assert weights_needed('load_reranker("bi-encoder")') == ["sentence-transformers/all-MiniLM-L6-v2"]
    assert weights_needed('load_dataset("dl19")') == []
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    with pytest.raises(pytest.skip.Exception, match="scripts/install_offline_models.py"):
        skip_without_weights('load_reranker("first", model="HuggingFaceTB/SmolLM2-135M-Instruct")')


def test_no_page_sends_a_reader_to_data_they_do_not_have():
    """Examples run on the data the package ships (a reader has no ../shared)."""
    for page in PAGES:
        assert "shared/data" not in (DOCS / page).read_text(), page


@pytest.mark.slow
@pytest.mark.parametrize("name,code", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_docs_example_runs(name, code, tmp_path):
    run_example(name, code)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served(site):
    """The built site on 127.0.0.1 (Material's search loads its index with fetch, which file://
    refuses); the server stops when the test ends."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_search_finds_a_page_in_chromium(served, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(served)
               else r.abort())
    page.goto(served)
    page.click("input.md-search__input")   # the header's search box
    page.keyboard.type("distillation")
    page.wait_for_selector(".md-search-result__item a", timeout=30_000)
    hrefs = [a.get_attribute("href") for a in page.query_selector_all(".md-search-result__item a")]
    assert any("how-to/distillation" in h for h in hrefs), hrefs
    page.click(".md-search-result__item a[href*='how-to/distillation']")
    page.wait_for_url("**/how-to/distillation/**")
    assert "Distillation" in page.inner_text("h1")
    assert not problems, problems
