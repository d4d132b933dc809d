"""A chat app on FastAPI whose answers users rate in the browser, however much later.

    pip install 'otel-feedback[web]' fastapi
    OTEL_FEEDBACK_TOKEN_SECRET=change-me python examples/web_app.py [--port 8000]

Open http://127.0.0.1:8000/ and ask. ``POST /chat {"message", "session_id"}`` answers inside
a ``chat`` span (``input.value`` / ``output.value`` set) and returns the answer with a signed
feedback token and the span's ids in hex. The page (``web_app.html``) loads the endpoint's
browser client from ``/fb/feedback.js``, which posts thumbs, stars, comments and the
implicit signals (copy, regenerate) to ``/fb/feedback``, the endpoint of
``otel_feedback.web.create_app`` mounted into this app. Spans go wherever the standard
``OTEL_EXPORTER_OTLP_*`` variables say.

Without ``OTEL_FEEDBACK_TOKEN_SECRET`` the app makes up a secret for this run, so tokens stop
being valid when it restarts: in production, give every instance the same secret.
"""

from __future__ import annotations

import argparse
import secrets
import socket
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from opentelemetry import trace
from opentelemetry.trace import format_span_id, format_trace_id
from pydantic import BaseModel

import otel_feedback as fb
from otel_feedback.settings import get_settings
from otel_feedback.web import create_app

SECRET = get_settings().signing_secret or secrets.token_bytes(32)
PAGE = (Path(__file__).resolve().parent / "web_app.html").read_text(encoding="utf-8")
tracer = trace.get_tracer("web-app")

app = FastAPI(title="otel-feedback chat")
app.mount("/fb", create_app(secret=SECRET))  # POST /fb/feedback, GET /fb/feedback.js


class Question(BaseModel):
    """What the page sends."""

    message: str
    session_id: str = "anonymous"


class Reply(BaseModel):
    """The answer, its feedback token, and the ids of the span the feedback lands on."""

    answer: str
    feedback_token: str
    trace_id: str
    span_id: str


def answer(message: str) -> str:
    """A deterministic stand-in for the LLM call."""
    with tracer.start_as_current_span("llm") as span:
        span.set_attribute("gen_ai.request.model", "fake-model")
        return f"You asked: {message!r}. The answer is 42."


@app.post("/chat")
def chat(question: Question) -> Reply:
    """Answer inside a ``chat`` span and hand out a token for feedback on it."""
    with fb.using_session(question.session_id), tracer.start_as_current_span("chat") as span:
        span.set_attribute("input.value", question.message)
        text = answer(question.message)
        span.set_attribute("output.value", text)
        context = span.get_span_context()
        return Reply(
            answer=text,
            feedback_token=fb.current_feedback_token(secret=SECRET) or "",
            trace_id=format_trace_id(context.trace_id),
            span_id=format_span_id(context.span_id),
        )


@app.get("/", response_class=HTMLResponse)
def page() -> str:
    """The chat page."""
    return PAGE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    args = parser.parse_args()
    provider = fb.configure(service_name="web-app")
    sock = socket.create_server((args.host, args.port), backlog=1024)
    print(f"listening on http://{args.host}:{sock.getsockname()[1]}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    try:
        server.run(sockets=[sock])  # until Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        provider.shutdown()  # flush the spans and the feedback


if __name__ == "__main__":
    main()
