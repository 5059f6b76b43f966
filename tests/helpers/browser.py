"""Open a report in headless Chromium (Debian's ``chromium``, driven by the Playwright client):
every request but the file itself is blocked; console errors and page errors are collected."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def chromium_path() -> str:
    path = os.environ.get("RANKIFY_LITE_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no chromium on PATH (Debian: apt-get install -y chromium)")
    return path


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
