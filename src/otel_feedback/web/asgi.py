"""The endpoint as an ASGI app on Starlette: mount it in FastAPI or Starlette, or serve it.

    app.mount("/fb", create_app())      # POST /fb/feedback, GET /fb/feedback.js

Bodies are read chunk by chunk and refused (413) as soon as they pass the limit, whatever
``Content-Length`` claims. Recording is synchronous and short (``log_feedback`` hands the
record to the span processor's queue); with a shared rate-limit store (Redis) the blocking
calls run in Starlette's thread pool instead of the event loop.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from typing_extensions import Unpack

from otel_feedback.conventions import WEB_FEEDBACK_PATH, WEB_SCRIPT_PATH
from otel_feedback.web.config import EndpointConfig, EndpointOptions
from otel_feedback.web.core import DRAIN_BYTES, FeedbackEndpoint, Reply, RequestHead, json_reply


def create_app(**options: Unpack[EndpointOptions]) -> Starlette:
    """The feedback endpoint as a Starlette app (``POST /feedback``, ``GET /feedback.js``).

    Options as in :meth:`EndpointConfig.build` (``secret``, ``max_age``, ``cors_origins``,
    ``rate_limit``, ``token_rate_limit``, ``rate_limit_storage``, ``allow_unsigned``,
    ``limits``, ``tracer_provider``); raises :class:`~otel_feedback.ConfigurationError` when
    no token secret is configured and ``allow_unsigned`` is false.
    """
    return asgi_app(FeedbackEndpoint(EndpointConfig.build(**options)))


def asgi_app(endpoint: FeedbackEndpoint) -> Starlette:
    """A Starlette app serving ``endpoint``."""
    blocking = not endpoint.rate_limits.in_memory
    limit = endpoint.limits.max_body_bytes

    async def feedback(request: Request) -> Response:
        head = _head(request)
        if request.method == "OPTIONS":
            return _response(endpoint.preflight(head))
        reply = await run_in_threadpool(endpoint.check, head) if blocking else endpoint.check(head)
        try:
            if reply is not None:
                if endpoint.drain_allowed(head):
                    await _read(request, 0)
                return _response(reply)
            body = await _read(request, limit)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is listening any more
        if body is None:
            return _response(endpoint.refuse(endpoint.too_large(), head))
        if blocking:
            return _response(await run_in_threadpool(endpoint.submit, head, body))
        return _response(endpoint.submit(head, body))

    async def script(request: Request) -> Response:
        return _response(endpoint.script(_head(request)))

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 400
        extra = list((exc.headers or {}).items()) if isinstance(exc, HTTPException) else []
        detail = exc.detail if isinstance(exc, HTTPException) else "bad request"
        body = {"status": status, "error": "http_error", "detail": detail}
        return _response(json_reply(status, body, extra))

    app = Starlette(
        routes=[
            Route(WEB_FEEDBACK_PATH, feedback, methods=["POST", "OPTIONS"]),
            Route(WEB_SCRIPT_PATH, script, methods=["GET", "HEAD"]),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.feedback_endpoint = endpoint
    return app


def _head(request: Request) -> RequestHead:
    headers = request.headers
    length = headers.get("content-length")
    return RequestHead(
        method=request.method,
        client=request.client.host if request.client else "unknown",
        content_type=headers.get("content-type"),
        content_length=int(length) if length and length.isdigit() else None,
        origin=headers.get("origin"),
        host=headers.get("host"),
        preflight_method=headers.get("access-control-request-method"),
        preflight_headers=headers.get("access-control-request-headers"),
        if_none_match=headers.get("if-none-match"),
    )


async def _read(request: Request, limit: int) -> bytes | None:
    """The body, or ``None`` if it is longer than ``limit`` bytes (then read on, discarded, up
    to ``DRAIN_BYTES``, so the client can finish sending and read the refusal)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > DRAIN_BYTES:
            break
        if size <= limit:
            chunks.append(chunk)
    return b"".join(chunks) if size <= limit else None


def _response(reply: Reply) -> Response:
    response = Response(content=reply.body, status_code=reply.status)
    response.raw_headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers
    ]
    return response
