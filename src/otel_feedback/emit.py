"""Emit feedback that cannot be written onto its span: ``feedback`` spans and log records.

A ``feedback`` span is zero-duration, in the target's trace, child of the target (a remote
parent context) with a link to it, placed at ``at_ns`` — a moment inside the target's
lifetime — so it never stretches the trace's latency (docs/DESIGN.md §3). An :class:`Emitter`
holds where they go: the tracer provider, and the logger provider when log records are on.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, TraceFlags

from otel_feedback import _sdk
from otel_feedback.context import (
    LATE_FEEDBACK_KEY,
    current_session_id,
    current_user_id,
    with_identity,
)
from otel_feedback.conventions import (
    EVENT_NAME,
    FEEDBACK_SPAN_NAME,
    SCOPE_NAME,
    SESSION_ID,
    USER_ID,
    VERSION,
)
from otel_feedback.errors import NotConfiguredError
from otel_feedback.flatten import Attributes
from otel_feedback.reporting import report


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


@dataclass(frozen=True, slots=True)
class Emitter:
    """Where late feedback goes: ``feedback`` spans through ``tracer_provider`` (default: the
    global one at the time of emission) and, when ``emit_log_records``, log records through
    ``logger_provider`` (default: the global one)."""

    tracer_provider: trace.TracerProvider | None = None
    logger_provider: Any = None
    emit_log_records: bool = False

    def span(
        self,
        target: Target,
        state: Attributes,
        event: Attributes | None,
        at_ns: int,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> bool:
        """Emit ``feedback`` span(s) carrying ``state`` (and the event); False if it cannot."""
        provider = _sdk_provider(tracer_provider or self.tracer_provider)
        if provider is None:
            return False
        emit_feedback_span(provider, target, state, event, at_ns)
        return True

    def log(self, target: Target, attributes: Attributes, at_ns: int, observed_ns: int) -> None:
        """Emit the record as an OTel log record parented to the target, if log records are on."""
        if not self.emit_log_records:
            return
        from opentelemetry import _logs  # noqa: PLC0415 - only when log records are enabled

        provider = self.logger_provider or _logs.get_logger_provider()
        parent = target.span_context()
        context = trace.set_span_in_context(NonRecordingSpan(parent)) if parent else Context()
        provider.get_logger(SCOPE_NAME, VERSION).emit(
            timestamp=at_ns,
            observed_timestamp=observed_ns,
            context=context,
            event_name=EVENT_NAME,
            attributes=attributes,
        )

    def flush_logs(self, timeout_millis: int = 30_000) -> bool:
        """Flush the logger provider this emitter writes to (if it is its own)."""
        flush = getattr(self.logger_provider, "force_flush", None)
        return bool(flush(timeout_millis)) if flush is not None else True


def _sdk_provider(provider: trace.TracerProvider | None) -> trace.TracerProvider | None:
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
    )
    return None


def emit_feedback_span(
    provider: trace.TracerProvider,
    target: Target,
    state: Attributes,
    event: Attributes | None,
    at_ns: int,
) -> int:
    """Emit one or more ``feedback`` spans carrying ``state``; returns how many.

    ``state`` is split over several spans only when it exceeds the attribute limit.
    """
    tracer = _tracer(provider)
    parent = target.span_context()
    if parent is not None:
        context: Context = trace.set_span_in_context(NonRecordingSpan(parent))
        links = [Link(parent)]
    else:
        context, links = Context(), []
        tracer = _sdk.tracer_in_trace(tracer, target.trace_id)
    # The rated span's identity (from its token) wins over the caller's current session.
    context = with_identity(context, target.session_id, target.user_id)
    context = otel_context.set_value(LATE_FEEDBACK_KEY, True, context)
    # What FeedbackSpanProcessor.on_start will add, counted so no chunk overflows the limit.
    identity: Attributes = {}
    session_id, user_id = current_session_id(context), current_user_id(context)
    if session_id:
        identity[SESSION_ID] = session_id
    if user_id:
        identity[USER_ID] = user_id
    chunks = _chunks(state, _sdk.attribute_limit(provider) - len(identity))
    for index, chunk in enumerate(chunks):
        span: Any = tracer.start_span(
            FEEDBACK_SPAN_NAME,
            context=context,
            kind=trace.SpanKind.INTERNAL,
            attributes={**chunk, **identity},
            links=links,
            start_time=at_ns,
        )
        if event is not None and index == 0:
            _sdk.write(span, {}, (EVENT_NAME, event), timestamp=at_ns)
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
        tracer = provider.get_tracer(SCOPE_NAME, VERSION)
        with contextlib.suppress(TypeError):  # a provider that cannot be weakly referenced
            _tracers[provider] = tracer
        return tracer


def _chunks(state: Attributes, size: int) -> list[Attributes]:
    if len(state) <= size or size < 1:
        return [state]
    items = list(state.items())
    return [dict(items[start : start + size]) for start in range(0, len(items), size)]


# -- built, not exported: the outbox's feedback spans -----------------------------------------


class _Capture(SpanProcessor):
    """Hands the spans ended in the calling thread to :func:`build_feedback_spans`."""

    def __init__(self) -> None:
        self.local = threading.local()

    def on_end(self, span: ReadableSpan) -> None:
        spans: list[ReadableSpan] | None = getattr(self.local, "spans", None)
        if spans is not None:
            spans.append(span)


_builders: weakref.WeakKeyDictionary[trace.TracerProvider, tuple[TracerProvider, _Capture]] = (
    weakref.WeakKeyDictionary()
)
_default_builder: tuple[TracerProvider, _Capture] | None = None


def _builder(provider: trace.TracerProvider | None) -> tuple[TracerProvider, _Capture]:
    """A private provider like ``provider`` (resource, sampler, ids, limits) that exports
    nothing: the spans it ends are captured instead. Made once per provider."""
    global _default_builder
    if isinstance(provider, TracerProvider):
        built = _builders.get(provider)
        if built is None:
            built = _builders[provider] = _make_builder(provider)
        return built
    if _default_builder is None:
        _default_builder = _make_builder(None)
    return _default_builder


def _make_builder(provider: TracerProvider | None) -> tuple[TracerProvider, _Capture]:
    if provider is None:
        twin = TracerProvider(resource=Resource.create(), shutdown_on_exit=False)
    else:
        twin = TracerProvider(
            sampler=provider.sampler,
            resource=provider.resource,
            id_generator=provider.id_generator,
            span_limits=_sdk.span_limits(provider),
            shutdown_on_exit=False,
        )
    capture = _Capture()
    twin.add_span_processor(capture)
    return twin, capture


def build_feedback_spans(
    provider: trace.TracerProvider | None,
    target: Target,
    state: Attributes,
    event: Attributes | None,
    at_ns: int,
) -> Sequence[ReadableSpan]:
    """The ``feedback`` span(s) :func:`emit_feedback_span` would export through ``provider``
    (same resource, sampler, id generator and limits; default resource when ``provider`` is
    not an SDK one), built and ended, with their ids, but handed to no exporter."""
    twin, capture = _builder(provider)
    spans: list[ReadableSpan] = []
    capture.local.spans = spans
    try:
        emit_feedback_span(twin, target, state, event, at_ns)
    finally:
        capture.local.spans = None
    return spans
