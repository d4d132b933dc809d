"""A local OpenAI-compatible chat endpoint for judge tests (real HTTP on 127.0.0.1).

The requested ``model`` picks the behaviour, so one server serves every case:

- ``score:<x>``        -> ``{"score": x, "reason": "..."}`` as the whole answer
- ``fenced:<x>``       -> the same inside a Markdown ```json fence, with prose around it
- ``text:<answer>``    -> ``<answer>`` verbatim (malformed output)
- ``slow:<seconds>``   -> sleeps, then answers ``{"score": 0.5, ...}``
- ``fail:<n>:<code>``  -> HTTP ``<code>`` for the first ``n`` requests with this model, then 0.9
- ``status:<code>``    -> always HTTP ``<code>``
- ``echo``             -> ``{"score": 1, "reason": <the user message>}``

Every request is kept in :attr:`JudgeServer.requests`. A watchdog stops the server after
``max_seconds`` even if a test forgets to.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JudgeServer:
    """Start with ``with JudgeServer() as server:``; ``server.base_url`` ends in ``/v1``."""

    def __init__(self, max_seconds: float = 300.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._watchdog = threading.Timer(max_seconds, self.stop)
        self._watchdog.daemon = True

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> JudgeServer:
        self._thread.start()
        self._watchdog.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._watchdog.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()

    def record(self, body: dict[str, Any], headers: dict[str, str]) -> int:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self.calls[str(body.get("model"))] += 1
            return self.calls[str(body.get("model"))]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: JudgeServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        headers = {key.lower(): value for key, value in self.headers.items()}
        nth = self.server.owner.record(body, headers)
        model = str(body.get("model"))
        kind, _, arg = model.partition(":")
        if kind == "score":
            self._answer(model, json.dumps({"score": float(arg), "reason": f"scored {arg}"}))
        elif kind == "fenced":
            reason = f"fenced {arg}"
            fence = "```json\n" + json.dumps({"score": float(arg), "reason": reason}) + "\n```"
            self._answer(model, f"Here is my judgement:\n{fence}\nThanks.")
        elif kind == "text":
            self._answer(model, arg)
        elif kind == "slow":
            time.sleep(float(arg))
            self._answer(model, '{"score": 0.5, "reason": "late"}')
        elif kind == "fail":
            times, _, code = arg.partition(":")
            if nth <= int(times):
                self._send(int(code), {"error": {"message": f"failure {nth}"}})
            else:
                self._answer(model, '{"score": 0.9, "reason": "recovered"}')
        elif kind == "status":
            self._send(int(arg), {"error": {"message": f"status {arg}"}})
        elif kind == "echo":
            user = body["messages"][-1]["content"]
            self._answer(model, json.dumps({"score": 1, "reason": user}))
        else:
            self._send(400, {"error": {"message": f"unknown test model {model!r}"}})

    def _answer(self, model: str, content: str) -> None:
        self._send(200, _completion(model, content))

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)
