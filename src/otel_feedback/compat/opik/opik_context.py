"""Opik's ``opik_context``: the span and trace of the tracked call running now.

``get_current_span()`` / ``get_current_trace()`` return objects with ``update(...)`` and
``log_feedback_score(name, value, reason=, category_name=)``; ``get_current_span_data()`` /
``get_current_trace_data()`` are Opik's older names for the same objects, and
``update_current_span(...)`` / ``update_current_trace(...)`` update them directly.
"""

from __future__ import annotations

from typing import Any

from otel_feedback.compat.opik._objects import CURRENT_SPAN, CURRENT_TRACE, Span, Trace
from otel_feedback.errors import InvalidTargetError
from otel_feedback.reporting import report

__all__ = [
    "get_current_span",
    "get_current_span_data",
    "get_current_trace",
    "get_current_trace_data",
    "get_distributed_trace_headers",
    "update_current_span",
    "update_current_trace",
]


def get_current_span() -> Span | None:
    """The span of the innermost tracked call running now, or ``None`` outside one."""
    return CURRENT_SPAN.get()


def get_current_trace() -> Trace | None:
    """The trace (outermost tracked call) running now, or ``None`` outside one."""
    return CURRENT_TRACE.get()


get_current_span_data = get_current_span
get_current_trace_data = get_current_trace


def update_current_span(**fields: Any) -> None:
    """``get_current_span().update(**fields)``; reported when no tracked call is running."""
    span = CURRENT_SPAN.get()
    if span is None:
        report(
            "no_target",
            InvalidTargetError("update_current_span() called outside a @track-ed function"),
        )
        return
    span.update(**fields)


def update_current_trace(**fields: Any) -> None:
    """``get_current_trace().update(**fields)``; ``thread_id=`` sets ``session.id``."""
    current = CURRENT_TRACE.get()
    if current is None:
        report(
            "no_target",
            InvalidTargetError("update_current_trace() called outside a @track-ed function"),
        )
        return
    current.update(**fields)


def get_distributed_trace_headers() -> dict[str, str]:
    """W3C ``traceparent`` (and ``tracestate``) headers of the current span, to propagate
    the trace to another service (which continues it with OpenTelemetry's propagators)."""
    from opentelemetry.propagate import inject  # noqa: PLC0415

    headers: dict[str, str] = {}
    inject(headers)
    return headers
