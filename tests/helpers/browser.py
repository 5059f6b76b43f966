"""Open a report in headless Chromium (Debian's ``chromium``, driven by the Playwright client):
every request but the file itself is blocked; console errors and page errors are collected."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def chromium_path() -> str:
    path = os.environ.get("RANKIFY_LITE_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no chromium on PATH (Debian: apt-get install -y chromium)")
    return path


@contextmanager
def headless_chromium() -> Iterator:
    """A started headless Chromium (Playwright's Browser); skips when chromium or the Playwright
    client is missing, or the browser cannot start here."""
    exe = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        except Exception as exc:  # noqa: BLE001 - a browser that can't start here is a skip
            pytest.skip(f"chromium at {exe} did not start: {exc}")
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, html: Path, hash_: str = ""):
    """(page, problems, requests): console errors / warnings and page errors in ``problems``,
    every URL requested in ``requests`` (only file:// ones are let through)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def block(route):
        requests.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", block)
    page.goto(html.as_uri() + hash_)
    page.wait_for_selector(".qview .qtext")
    return page, problems, requests
