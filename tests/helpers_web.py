"""Helpers for the feedback endpoint's tests: signed tokens for spans of a wire pipeline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from helpers_wire import Wire
from opentelemetry.trace import format_span_id, format_trace_id

import otel_feedback as fb

SECRET = "test-secret-1"
OTHER_SECRET = "someone-elses-secret"


@dataclass
class Answer:
    """A finished ``chat`` span and the signed token handed out with it."""

    token: str
    trace_id: str
    span_id: str


def answer(wire: Wire, secret: str = SECRET, *, session_id: str = "s-1") -> Answer:
    """End a ``chat`` span on ``wire`` and return its token (signed with ``secret``)."""
    with fb.using_session(session_id), wire.tracer.start_as_current_span("chat") as span:
        token = fb.current_feedback_token(secret=secret)
        context = span.get_span_context()
    assert token is not None
    return Answer(token, format_trace_id(context.trace_id), format_span_id(context.span_id))


def old_token(wire: Wire, seconds: float, secret: str = SECRET) -> str:
    """A validly signed token for a new span, issued ``seconds`` ago."""
    with wire.tracer.start_as_current_span("old") as span:
        context = span.get_span_context()
    issued = time.time_ns() - int(seconds * 1e9)
    return fb.FeedbackToken(context.trace_id, context.span_id, issued).encode(secret)


def record(token: str, /, **fields: Any) -> dict[str, Any]:
    """One request record with a default name and value."""
    return {"token": token, "name": "thumbs_up", "value": True, **fields}


@contextmanager
def flushed(wire: Wire) -> Iterator[None]:
    """Flush the wire's exporter after the block."""
    yield
    wire.provider.force_flush()
