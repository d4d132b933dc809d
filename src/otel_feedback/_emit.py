"""Emit feedback that cannot be written onto its span: ``feedback`` spans and log records.

A ``feedback`` span is zero-duration, in the target's trace, child of the target (a remote
parent context) with a link to it, placed at ``at_ns`` — a moment inside the target's
lifetime — so it never stretches the trace's latency (DESIGN.md §3).
"""

from __future__ import annotations

import contextlib
import copy
import weakref
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import SpanLimits
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags

from otel_feedback import _spanwrite
from otel_feedback._diagnostics import report
from otel_feedback.context import (
    SESSION_ID,
    USER_ID,
    current_session_id,
    current_user_id,
    with_identity,
)
from otel_feedback.errors import NotConfiguredError
from otel_feedback.flatten import Attributes
from otel_feedback.processor import SCOPE_NAME

FEEDBACK_SPAN_NAME = "feedback"
"""Name of the spans that carry late feedback."""

_VERSION = "0.1.0"


@dataclass(frozen=True, slots=True)
class Target:
    """The span feedback is about. ``span_id`` is ``None`` for a trace whose root is unknown."""

    trace_id: int
    span_id: int | None
    sampled: bool = True
    session_id: str | None = None
    user_id: str | None = None

    def span_context(self) -> SpanContext | None:
        """The target as a remote span context, or ``None`` when only the trace is known."""
        if self.span_id is None:
            return None
        flags = TraceFlags(TraceFlags.SAMPLED if self.sampled else TraceFlags.DEFAULT)
        return SpanContext(self.trace_id, self.span_id, is_remote=True, trace_flags=flags)


class _FixedTraceId(IdGenerator):
    """Span ids from the provider's generator; the trace id of the target trace."""

    def __init__(self, trace_id: int, delegate: IdGenerator) -> None:
        self._trace_id = trace_id
        self._delegate = delegate

    def generate_span_id(self) -> int:
        return self._delegate.generate_span_id()

    def generate_trace_id(self) -> int:
        return self._trace_id


def tracer_provider_or_report(
    provider: trace.TracerProvider | None, strict: bool | None
) -> trace.TracerProvider | None:
    """``provider`` or the global one, if it is an SDK provider that can export spans."""
    chosen = provider if provider is not None else trace.get_tracer_provider()
    if hasattr(chosen, "add_span_processor"):
        return chosen
    report(
        "not_configured",
        NotConfiguredError(
            "no OpenTelemetry SDK TracerProvider is installed, so feedback cannot be "
            "exported; call otel_feedback.configure() or trace.set_tracer_provider(...)"
        ),
        strict,
    )
    return None


def emit_feedback_span(
    provider: trace.TracerProvider,
    target: Target,
    state: Attributes,
    event: tuple[str, Attributes] | None,
    at_ns: int,
) -> int:
    """Emit one or more ``feedback`` spans carrying ``state``; returns how many.

    ``state`` is split over several spans only when it exceeds the attribute limit.
    """
    tracer: Any = _tracer(provider)
    parent = target.span_context()
    if parent is not None:
        context: Context = trace.set_span_in_context(NonRecordingSpan(parent))
        links = [Link(parent)]
    else:
        context, links = Context(), []
        if hasattr(tracer, "id_generator"):
            tracer = copy.copy(tracer)
            tracer.id_generator = _FixedTraceId(target.trace_id, tracer.id_generator)
    # The rated span's identity (from its token) wins over the caller's current session.
    context = with_identity(context, target.session_id, target.user_id)
    # What FeedbackSpanProcessor.on_start will add, counted so no chunk overflows the limit.
    identity: Attributes = {}
    session_id, user_id = current_session_id(context), current_user_id(context)
    if session_id:
        identity[SESSION_ID] = session_id
    if user_id:
        identity[USER_ID] = user_id
    chunks = _chunks(state, _attribute_limit(provider) - len(identity))
    for index, chunk in enumerate(chunks):
        span = tracer.start_span(
            FEEDBACK_SPAN_NAME,
            context=context,
            kind=trace.SpanKind.INTERNAL,
            attributes={**chunk, **identity},
            links=links,
            start_time=at_ns,
        )
        if event is not None and index == 0:
            _spanwrite.write(span, {}, event, timestamp=at_ns)
        span.end(end_time=at_ns)
    return len(chunks)


_tracers: weakref.WeakKeyDictionary[trace.TracerProvider, trace.Tracer] = (
    weakref.WeakKeyDictionary()
)


def _tracer(provider: trace.TracerProvider) -> trace.Tracer:
    """Our tracer from ``provider``, made once (``get_tracer`` takes microseconds)."""
    try:
        return _tracers[provider]
    except (KeyError, TypeError):
        tracer = provider.get_tracer(SCOPE_NAME, _VERSION)
        with contextlib.suppress(TypeError):  # a provider that cannot be weakly referenced
            _tracers[provider] = tracer
        return tracer


def _attribute_limit(provider: trace.TracerProvider) -> int:
    limits = getattr(provider, "_span_limits", None)
    if not isinstance(limits, SpanLimits):
        limits = SpanLimits()
    limit = limits.max_span_attributes
    return limit if limit is not None else 1 << 30


def _chunks(state: Attributes, size: int) -> list[Attributes]:
    if len(state) <= size or size < 1:
        return [state]
    items = list(state.items())
    return [dict(items[start : start + size]) for start in range(0, len(items), size)]


def emit_log_record(
    logger_provider: Any, target: Target, attributes: Attributes, at_ns: int, observed_ns: int
) -> None:
    """Emit the feedback record as an OTel log record parented to the target span."""
    from opentelemetry import _logs  # noqa: PLC0415 - only when log records are enabled

    provider = logger_provider if logger_provider is not None else _logs.get_logger_provider()
    parent = target.span_context()
    context = trace.set_span_in_context(NonRecordingSpan(parent)) if parent else Context()
    provider.get_logger(SCOPE_NAME, _VERSION).emit(
        timestamp=at_ns,
        observed_timestamp=observed_ns,
        context=context,
        event_name="gen_ai.evaluation.result",
        attributes=attributes,
    )
