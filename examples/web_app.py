"""A chat web app that returns a feedback token with each answer and accepts feedback.

    python examples/web_app.py [--port 8000]

``POST /chat {"message": "...", "session_id": "..."}`` answers inside a span and returns
``{"answer": ..., "feedback_token": ...}``. ``POST /feedback {"token": ..., "name": "thumbs_up",
"value": true, "reason": "..."}`` records the user's feedback on that answer's span, however
much later. ``GET /`` serves a tiny page with thumbs up/down buttons. Standard library only.
"""

from __future__ import annotations

import argparse
import json
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry import trace

import otel_feedback as fb

tracer = trace.get_tracer("web-app")

PAGE = b"""<!doctype html><meta charset=utf-8><title>otel-feedback chat</title>
<input id=q value="What is the capital of France?" size=40><button id=ask>Ask</button>
<p id=a></p><button id=up disabled>&#128077;</button><button id=down disabled>&#128078;</button>
<script>
let token = null;
const post = (path, body) => fetch(path, {method: "POST", body: JSON.stringify(body)})
  .then(r => r.json());
ask.onclick = () => post("/chat", {message: q.value, session_id: "browser"}).then(r => {
  a.textContent = r.answer; token = r.feedback_token; up.disabled = down.disabled = false; });
up.onclick = () => post("/feedback", {token, name: "thumbs_up", value: true});
down.onclick = () => post("/feedback", {token, name: "thumbs_up", value: false});
</script>"""


def answer(message: str) -> str:
    """A deterministic stand-in for the LLM call."""
    with tracer.start_as_current_span("llm") as span:
        span.set_attribute("gen_ai.request.model", "fake-model")
        return f"You asked: {message!r}. The answer is 42."


class Handler(BaseHTTPRequestHandler):
    """JSON endpoints /chat and /feedback, and the page at /."""

    def do_GET(self) -> None:
        if self.path != "/":
            self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def do_POST(self) -> None:
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        except json.JSONDecodeError:
            self._send(HTTPStatus.BAD_REQUEST, {"error": "body must be JSON"})
            return
        if self.path == "/chat":
            self._send(HTTPStatus.OK, self._chat(body))
        elif self.path == "/feedback":
            feedback_id = fb.log_feedback(
                str(body.get("name", "")), body.get("value"), target=body.get("token"),
                reason=body.get("reason"), source="HUMAN", source_id="web_ui",
                kind=body.get("kind", "explicit"),
            )
            status = HTTPStatus.ACCEPTED if feedback_id else HTTPStatus.BAD_REQUEST
            self._send(status, {"feedback_id": feedback_id})
        else:
            self._send(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        session_id = str(body.get("session_id") or "anonymous")
        with fb.using_session(session_id), tracer.start_as_current_span("chat") as span:
            span.set_attribute("input.value", str(body.get("message", "")))
            reply = answer(str(body.get("message", "")))
            return {"answer": reply, "feedback_token": fb.current_feedback_token()}

    def _send(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the traces are the log."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    provider = fb.configure(service_name="web-app")
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        provider.shutdown()


if __name__ == "__main__":
    main()
