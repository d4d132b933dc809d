"""The WSGI app (Flask, Django): the same answers as the ASGI app, recorded the same way."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from flask import Flask
from helpers_web import SECRET, answer, old_token, record
from helpers_wire import EVENT, Wire, only_event
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from otel_feedback.web import create_wsgi_app


@pytest.fixture
def flask_app(grpc_wire: Wire) -> Flask:
    app = Flask("chat")

    @app.get("/")
    def home() -> str:
        return "chat"

    feedback = create_wsgi_app(secret=SECRET, max_age=3600, tracer_provider=grpc_wire.provider)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/fb": feedback})  # type: ignore[method-assign]
    return app


def test_flask_mount_statuses_and_records(grpc_wire: Wire, flask_app: Flask) -> None:
    client = flask_app.test_client()
    assert client.get("/").text == "chat"
    chat = answer(grpc_wire)
    ok = client.post("/fb/feedback", json=record(chat.token, id="ab" * 16))
    assert ok.status_code == 202, ok.text
    assert ok.json is not None
    retry = client.post("/fb/feedback", json=record(chat.token, id="ab" * 16))
    assert retry.json is not None
    assert retry.json["duplicates"] == 1
    statuses = {
        "malformed": client.post("/fb/feedback", data=b"{", content_type="application/json"),
        "forged": client.post("/fb/feedback", json=record(chat.token[:-3] + "AAA")),
        "expired": client.post("/fb/feedback", json=record(old_token(grpc_wire, 7200))),
        "large": client.post("/fb/feedback", json=record("A" * 1_000_000)),
        "form": client.post("/fb/feedback", data={"token": chat.token}),
        "field": client.post("/fb/feedback", json=record(chat.token, name="a b")),
        "method": client.get("/fb/feedback"),
        "path": client.get("/fb/other"),
    }
    got = {name: response.status_code for name, response in statuses.items()}
    assert got == {
        "malformed": 400,
        "forged": 401,
        "expired": 410,
        "large": 413,
        "form": 415,
        "field": 422,
        "method": 405,
        "path": 404,
    }
    assert statuses["field"].json == {
        "status": 422,
        "error": "invalid_field",
        "detail": statuses["field"].json["detail"],  # type: ignore[index]
        "field": "name",
    }
    script = client.get("/fb/feedback.js")
    assert script.status_code == 200
    assert b"OtelFeedback" in script.data
    feedback = grpc_wire.one("feedback")
    assert feedback.parent_span_id == chat.span_id
    assert only_event(feedback, EVENT).attributes["feedback.source.id"] == "web_ui"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log in the test output."""


@pytest.fixture
def wsgi_server(grpc_wire: Wire) -> Iterator[str]:
    app = create_wsgi_app(secret=SECRET, tracer_provider=grpc_wire.provider)
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_real_wsgi_server_over_http(grpc_wire: Wire, wsgi_server: str) -> None:
    chat = answer(grpc_wire)
    data = json.dumps([record(chat.token, name="rating", value=2)]).encode()
    request = urllib.request.Request(
        f"{wsgi_server}/feedback", data=data, headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
        ids = json.loads(response.read())["ids"]
    unsigned = urllib.request.Request(
        f"{wsgi_server}/feedback",
        data=json.dumps(record("A" * 40)).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=10)
    assert refused.value.code == 401
    assert json.loads(refused.value.read())["field"] == "token"
    feedback = grpc_wire.one("feedback")
    assert only_event(feedback, EVENT).attributes["feedback.id"] == ids[0]
    assert feedback.attributes["feedback.rating"] == 2
