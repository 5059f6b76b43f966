"""A tiny OpenAI-compatible HTTP server in a thread, for testing the client's behaviour.

It answers ``POST /v1/completions`` from a test-double backend (``helpers.fake_lm.FakeLM``): the
prompt's token ids go to the fake, its values come back as log-probs keyed "token_id:N" (vLLM's
form) or by token text. Faults are scripted per request: ``plan`` is a list consumed one entry
per request -- ``429``, ``500``, ``("sleep", seconds)``, ``("status", code, body)`` -- and
``None`` / an exhausted plan means answer normally. Everything seen is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeTokenizer:
    """The Hugging Face tokenizer surface OpenAIBackend uses, over a FakeLM's vocabulary."""

    chat_template = "fake"

    def __init__(self, lm: Any) -> None:
        self.lm = lm
        self.eos_token_id = None

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True,
                            chat_template=None, enable_thinking=None):
        return self.lm.render_chat(messages, enable_thinking=enable_thinking)

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": self.lm.encode(text, add_special_tokens=add_special_tokens)}

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        return self.lm.decode(ids)


class FakeServer:
    def __init__(self, lm: Any, *, text_keys: bool = False, reject_extension: bool = False,
                 prompt_token_offset: int = 0, top_cap: int | None = None) -> None:
        self.lm = lm
        self.text_keys = text_keys
        self.reject_extension = reject_extension
        self.prompt_token_offset = prompt_token_offset
        self.top_cap = top_cap                  # a server-side limit on top-k log-probs
        self.plan: list[Any] = []
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # /v1/models
                self._send(200, {"data": [{"id": "fake", "max_model_len": 100000}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.bodies.append(body)
                    server.headers.append(dict(self.headers))
                    step = server.plan.pop(0) if server.plan else None
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server.answer(self, body, step)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send(self, code, obj, headers=()):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- answers -------------------------------------------------------------------------------
    def answer(self, h, body: dict[str, Any], step: Any) -> None:
        if step == 429:
            return h._send(429, {"error": "rate limited"}, headers=[("Retry-After", "0")])
        if step == 500:
            return h._send(500, {"error": "internal"})
        if isinstance(step, tuple) and step[0] == "sleep":
            time.sleep(step[1])
        if isinstance(step, tuple) and step[0] == "status":
            return h._send(step[1], {"error": step[2]})
        if self.reject_extension and "logprob_token_ids" in body:
            return h._send(400, {"error": "unknown field logprob_token_ids"})
        ids = body["prompt"]
        if isinstance(ids, str):
            ids = self.lm.encode(ids)
        usage = {"prompt_tokens": len(ids) + self.prompt_token_offset}
        if body.get("max_tokens") == 1 and body.get("logprobs"):
            wanted = body.get("logprob_token_ids") or sorted(self.lm.vocab.values())
            values = self.lm.next_token_logits([ids], wanted).logits[0]
            ranked = sorted(zip(wanted, values.tolist(), strict=True), key=lambda x: -x[1])
            ranked = ranked[:max(len(body.get("logprob_token_ids") or []), body["logprobs"])]
            ranked = ranked[:self.top_cap] if self.top_cap else ranked
            if self.text_keys:
                top = {self.lm.decode([t]): v for t, v in ranked}
            else:
                top = {f"token_id:{t}": v for t, v in ranked}
            choice = {"text": "", "logprobs": {"top_logprobs": [top]}}
            usage["completion_tokens"] = 1
        else:
            gen = self.lm.generate([ids], body["max_tokens"], body.get("min_tokens", 0))[0]
            choice = {"text": gen.text}
            usage["completion_tokens"] = gen.output_tokens
        return h._send(200, {"choices": [choice], "usage": usage})
