"""The endpoint as a WSGI app, for Flask, Django and any WSGI server.

    # Flask: serve it under /fb next to the app's own routes
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/fb": create_wsgi_app()})

It shares :class:`~otel_feedback.web.core.FeedbackEndpoint` with the ASGI app, so both answer
alike. Paths are read from ``PATH_INFO`` (``/feedback``, ``/feedback.js``), relative to where
the app is mounted (``SCRIPT_NAME``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from typing_extensions import Unpack

from otel_feedback.conventions import WEB_FEEDBACK_PATH, WEB_SCRIPT_PATH
from otel_feedback.web.config import EndpointConfig, EndpointOptions
from otel_feedback.web.core import DRAIN_BYTES, FeedbackEndpoint, Reply, RequestHead, json_reply

StartResponse = Callable[..., Any]


def create_wsgi_app(**options: Unpack[EndpointOptions]) -> FeedbackWSGIApp:
    """The feedback endpoint as a WSGI app; the options of :func:`~otel_feedback.web.create_app`."""
    return FeedbackWSGIApp(FeedbackEndpoint(EndpointConfig.build(**options)))


class FeedbackWSGIApp:
    """A WSGI callable serving one :class:`FeedbackEndpoint`."""

    def __init__(self, endpoint: FeedbackEndpoint) -> None:
        self.endpoint = endpoint

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        reply = self._handle(environ)
        phrase = HTTPStatus(reply.status).phrase
        start_response(f"{reply.status} {phrase}", reply.headers)
        return [reply.body]

    def _handle(self, environ: dict[str, Any]) -> Reply:
        path = environ.get("PATH_INFO") or "/"
        head = _head(environ)
        if path == WEB_FEEDBACK_PATH:
            if head.method == "OPTIONS":
                return self.endpoint.preflight(head)
            if head.method != "POST":
                return _not_allowed(head.method, "POST, OPTIONS")
            refused = self.endpoint.check(head)
            if refused is not None:
                if self.endpoint.drain_allowed(head):
                    _read(environ, head.content_length, 0)
                return refused
            body = _read(environ, head.content_length, self.endpoint.limits.max_body_bytes)
            if body is None:
                return self.endpoint.refuse(self.endpoint.too_large(), head)
            return self.endpoint.submit(head, body)
        if path == WEB_SCRIPT_PATH:
            if head.method not in {"GET", "HEAD"}:
                return _not_allowed(head.method, "GET, HEAD")
            return self.endpoint.script(head)
        return json_reply(404, {"status": 404, "error": "http_error", "detail": "Not Found"})


def _head(environ: dict[str, Any]) -> RequestHead:
    length = str(environ.get("CONTENT_LENGTH") or "")
    return RequestHead(
        method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
        client=str(environ.get("REMOTE_ADDR") or "unknown"),
        content_type=environ.get("CONTENT_TYPE") or None,
        content_length=int(length) if length.isdigit() else None,
        origin=environ.get("HTTP_ORIGIN"),
        host=environ.get("HTTP_HOST"),
        preflight_method=environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
        preflight_headers=environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
        if_none_match=environ.get("HTTP_IF_NONE_MATCH"),
    )


def _read(environ: dict[str, Any], length: int | None, limit: int) -> bytes | None:
    """The body, or ``None`` if it is longer than ``limit`` bytes (then read on, discarded, up
    to ``DRAIN_BYTES``, so the client can finish sending and read the refusal)."""
    stream = environ.get("wsgi.input")
    if stream is None or (length is None and not environ.get("wsgi.input_terminated")):
        return b""  # no length and a stream that may not end: there is no body to read
    left = DRAIN_BYTES if length is None else min(length, DRAIN_BYTES)
    chunks: list[bytes] = []
    size = 0
    while left > 0:
        chunk = bytes(stream.read(min(left, 65536)))
        if not chunk:
            break
        size += len(chunk)
        left -= len(chunk)
        if size <= limit:
            chunks.append(chunk)
    return b"".join(chunks) if size <= limit else None


def _not_allowed(method: str, allow: str) -> Reply:
    detail = f"method {method[:20]!r} is not allowed here; use {allow}"
    return json_reply(
        405, {"status": 405, "error": "http_error", "detail": detail}, [("allow", allow)]
    )
