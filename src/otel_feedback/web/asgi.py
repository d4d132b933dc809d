"""The endpoint as an ASGI app on Starlette: mount it in FastAPI or Starlette, or serve it.

    app.mount("/fb", create_app())      # POST /fb/feedback, GET /fb/feedback.js

Starlette routes, answers unknown paths and methods, and mounts; the two routes themselves are
plain ASGI callables around :class:`~otel_feedback.web.core.FeedbackEndpoint` (no request or
response objects on the hot path). Bodies are read chunk by chunk and refused (413) once they
pass the limit, whatever ``Content-Length`` claims. Recording is synchronous and short
(``log_feedback`` hands the record to the span processor's queue); with a shared rate-limit
store (Redis) the blocking calls run in Starlette's thread pool instead of the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typing_extensions import Unpack

from otel_feedback.conventions import WEB_FEEDBACK_PATH, WEB_SCRIPT_PATH
from otel_feedback.web.config import EndpointConfig, EndpointOptions
from otel_feedback.web.core import DRAIN_BYTES, FeedbackEndpoint, Reply, RequestHead, json_reply

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_HEADERS_READ = frozenset(
    {
        b"content-length",
        b"content-type",
        b"origin",
        b"host",
        b"access-control-request-method",
        b"access-control-request-headers",
        b"if-none-match",
    }
)


def create_app(**options: Unpack[EndpointOptions]) -> Starlette:
    """The feedback endpoint as a Starlette app (``POST /feedback``, ``GET /feedback.js``).

    Options as in :meth:`EndpointConfig.build` (``secret``, ``max_age``, ``cors_origins``,
    ``rate_limit``, ``token_rate_limit``, ``rate_limit_storage``, ``allow_unsigned``,
    ``limits``, ``tracer_provider``); raises :class:`~otel_feedback.ConfigurationError` when
    no token secret is configured and ``allow_unsigned`` is false.
    """
    return asgi_app(FeedbackEndpoint(EndpointConfig.build(**options)))


class _FeedbackRoute:
    """``POST /feedback`` and its ``OPTIONS`` preflight, as a plain ASGI app."""

    def __init__(self, endpoint: FeedbackEndpoint) -> None:
        self.endpoint = endpoint
        self.blocking = not endpoint.rate_limits.in_memory
        self.limit = endpoint.limits.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoint
        head = _head(scope)
        if head.method == "OPTIONS":
            await _send(send, endpoint.preflight(head))
            return
        if self.blocking:
            reply = await run_in_threadpool(endpoint.check, head)
        else:
            reply = endpoint.check(head)
        if reply is not None:
            try:
                if endpoint.drain_allowed(head):
                    await _read(receive, 0)
            except _Disconnected:
                return
            await _send(send, reply)
            return
        try:
            body = await _read(receive, self.limit)
        except _Disconnected:
            return  # nobody to answer
        if body is None:
            reply = endpoint.refuse(endpoint.too_large(), head)
        elif self.blocking:
            reply = await run_in_threadpool(endpoint.submit, head, body)
        else:
            reply = endpoint.submit(head, body)
        await _send(send, reply)


class _ScriptRoute:
    """``GET /feedback.js``."""

    def __init__(self, endpoint: FeedbackEndpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _send(send, self.endpoint.script(_head(scope)))


def asgi_app(endpoint: FeedbackEndpoint) -> Starlette:
    """A Starlette app serving ``endpoint``."""

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        extra = list((exc.headers or {}).items()) if isinstance(exc, HTTPException) else []
        detail = exc.detail if isinstance(exc, HTTPException) else "bad request"
        reply = json_reply(status, {"status": status, "error": "http_error", "detail": detail},
                           extra)
        response = Response(content=reply.body, status_code=reply.status)
        response.raw_headers = _raw(reply)
        return response

    app = Starlette(
        routes=[
            Route(WEB_FEEDBACK_PATH, _FeedbackRoute(endpoint), methods=["POST", "OPTIONS"]),
            Route(WEB_SCRIPT_PATH, _ScriptRoute(endpoint), methods=["GET", "HEAD"]),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.feedback_endpoint = endpoint
    return app


def _head(scope: Scope) -> RequestHead:
    # One pass over the raw headers (ASGI servers give the names in lowercase).
    headers = {name: value for name, value in scope["headers"] if name in _HEADERS_READ}
    length = headers.get(b"content-length", b"")
    client = scope.get("client")

    def text(name: bytes) -> str | None:
        value = headers.get(name)
        return None if value is None else value.decode("latin-1")

    return RequestHead(
        method=scope["method"],
        client=str(client[0]) if client else "unknown",
        content_type=text(b"content-type"),
        content_length=int(length) if length.isdigit() else None,
        origin=text(b"origin"),
        host=text(b"host"),
        preflight_method=text(b"access-control-request-method"),
        preflight_headers=text(b"access-control-request-headers"),
        if_none_match=text(b"if-none-match"),
    )


class _Disconnected(Exception):
    """The client went away while sending its body."""


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The body, or ``None`` if it is longer than ``limit`` bytes (then read on, discarded, up
    to ``DRAIN_BYTES``, so the client can finish sending and read the refusal)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body", False) or size > DRAIN_BYTES:
            break
    return b"".join(chunks) if size <= limit else None


async def _send(send: Send, reply: Reply) -> None:
    await send({"type": "http.response.start", "status": reply.status, "headers": _raw(reply)})
    await send({"type": "http.response.body", "body": reply.body})


def _raw(reply: Reply) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers]
