"""A small JSON-over-HTTP client for OpenAI-compatible servers: bounded concurrency, retries.

* The API key comes from an environment variable only (``api_key_env``); it is sent in the
  ``Authorization`` header and never stored in metadata, logs or error messages (any error text
  is scrubbed of it).
* 429, 5xx, time-outs and dropped connections are retried with exponential back-off
  (``backoff * 2**attempt`` seconds, capped at ``max_backoff``; a ``Retry-After`` header wins
  when it asks for longer, up to the cap). Other 4xx answers are not retried.
* ``map`` runs one request per item on at most ``concurrency`` threads, results in order.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from rankify_lite.errors import InputError, RankifyError, require

T = TypeVar("T")
R = TypeVar("R")

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class ServerError(RankifyError):
    """The server could not be reached or kept failing after every retry."""


class ClientError(InputError):
    """The server refused a request (4xx other than 408/409/429): retrying cannot help."""

    def __init__(self, problem: str, *, status: int, fix: str) -> None:
        self.status = status
        super().__init__(problem, fix=fix)


class JsonClient:
    def __init__(self, base_url: str, *, api_key_env: str | None = "OPENAI_API_KEY",
                 timeout: float = 60.0, max_retries: int = 5, backoff: float = 0.5,
                 max_backoff: float = 30.0, concurrency: int = 8) -> None:
        httpx = require("httpx", extra="openai", feature="the OpenAI-compatible LLM engine")
        if not base_url or "://" not in base_url:
            raise InputError(f"base_url {base_url!r} is not an http(s) URL.",
                             fix="pass e.g. base_url='http://127.0.0.1:8000/v1'.")
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        key = os.environ.get(api_key_env) if api_key_env else None
        self._secret = key or None
        headers = {"Content-Type": "application/json"}
        if self._secret:
            headers["Authorization"] = f"Bearer {self._secret}"
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = max(0.0, float(backoff))
        self.max_backoff = max(self.backoff, float(max_backoff))
        self.concurrency = max(1, int(concurrency))
        limits = httpx.Limits(max_connections=self.concurrency,
                              max_keepalive_connections=self.concurrency)
        self._httpx = httpx
        self._client = httpx.Client(base_url=self.base_url, headers=headers, limits=limits,
                                    timeout=httpx.Timeout(self.timeout))
        self._lock = threading.Lock()
        self.counters = {"requests": 0, "retries": 0}

    # -- secrets never leave -------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _bump(self, key: str) -> None:
        with self._lock:
            self.counters[key] += 1

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        delay = self.backoff * (2 ** attempt)
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass
        return min(delay, self.max_backoff)

    # -- one request ---------------------------------------------------------------------------
    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` as JSON to ``base_url + path``; the decoded JSON answer."""
        url = f"{self.base_url}{path}"
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._bump("retries")
            self._bump("requests")
            retry_after = None
            try:
                resp = self._client.post(path, json=body)
            except self._httpx.TimeoutException:
                last = f"no answer within {self.timeout:g} s"
            except self._httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__}: {exc})"
            else:
                if resp.status_code < 400:
                    try:
                        return resp.json()
                    except ValueError as exc:
                        raise ServerError(f"the server at {url} answered HTTP "
                                          f"{resp.status_code} with a body that is not JSON: "
                                          f"{self.scrub(resp.text[:200])!r}") from exc
                detail = self.scrub(resp.text[:300])
                # a request-validation failure is deterministic even when a server reports it
                # as a 5xx (llama-cpp-python does): retrying cannot help
                if resp.status_code not in RETRY_STATUS or "validation error" in detail:
                    raise ClientError(
                        f"the server at {url} refused the request: HTTP {resp.status_code}: "
                        f"{detail}", status=resp.status_code,
                        fix=self._fix_for(resp.status_code))
                last = f"HTTP {resp.status_code}: {detail}"
                retry_after = resp.headers.get("retry-after")
            if attempt < self.max_retries:
                time.sleep(self._delay(attempt, retry_after))
        raise ServerError(f"the server at {url} failed {self.max_retries + 1} times in a row "
                          f"(last: {last}). Fix: check that it is running and reachable; "
                          "raise max_retries/timeout for a busy server. A pipeline run keeps "
                          "its finished queries and continues from them when run again.")

    def _fix_for(self, status: int) -> str:
        if status in (401, 403):
            who = f"${self.api_key_env}" if self.api_key_env else "an API key variable"
            return f"set {who} to a valid key (or api_key_env= to the variable that holds it)."
        if status == 404:
            return ("check base_url (it usually ends in /v1) and that the server has the "
                    "endpoint and serves the model name given.")
        return "check the request options against what this server supports."

    # -- many requests -------------------------------------------------------------------------
    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if len(items) <= 1 or self.concurrency == 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            return list(pool.map(fn, items))

    def close(self) -> None:
        self._client.close()
