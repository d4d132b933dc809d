"""``FeedbackSpanProcessor``: identity on every span, and a bounded memory of recent spans.

The processor does no exporting. It copies ``session.id`` / ``user.id`` from the context onto
each span as it starts, and remembers, in bounded memory, the spans still open (so feedback
can be written onto them), when recent spans ended and the local root of recent traces (so
late feedback can be placed under the right span, inside its lifetime).
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from otel_feedback import _spanwrite
from otel_feedback.context import (
    _OPENINFERENCE_SESSION_KEY,
    _OPENINFERENCE_USER_KEY,
    _SESSION_KEY,
    _USER_KEY,
)

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.trace import TracerProvider

SCOPE_NAME = "otel_feedback"
"""Instrumentation scope of the spans otel-feedback emits itself."""


@dataclass(frozen=True, slots=True)
class RootInfo:
    """The local root span of a trace: its id and, once it ended, when."""

    span_id: int
    end_time: int | None = None


class FeedbackSpanProcessor(SpanProcessor):
    """Add with ``provider.add_span_processor(FeedbackSpanProcessor())``, in any order.

    Args:
        max_tracked_spans: spans remembered, open or recently ended (the newest are kept).
        max_tracked_traces: recent traces whose local root span is remembered.
        tracer_provider: provider for the ``feedback`` spans of late feedback; default the
            global one (``configure()`` sets it to the provider it builds).
        emit_log_records: also emit each feedback as an OTel log record
            (``event_name="gen_ai.evaluation.result"``), for log-based pipelines.
        logger_provider: provider for those log records; default the global one.
    """

    def __init__(
        self,
        *,
        max_tracked_spans: int = 20_000,
        max_tracked_traces: int = 10_000,
        tracer_provider: TracerProvider | None = None,
        emit_log_records: bool = False,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        if max_tracked_spans < 1 or max_tracked_traces < 1:
            raise ValueError("max_tracked_spans and max_tracked_traces must be >= 1")
        self.max_tracked_spans = max_tracked_spans
        self.max_tracked_traces = max_tracked_traces
        self.tracer_provider = tracer_provider
        self.emit_log_records = emit_log_records
        self.logger_provider = logger_provider
        # One table for the spans of this process, open (value: the Span) or recently ended
        # (value: its end time), in start order; `_order` holds the same ids oldest first,
        # so eviction is O(1) (next(iter(dict)) walks the slots of deleted keys).
        self._spans: dict[int, Any] = {}
        self._order: deque[int] = deque()
        # Local roots of recent traces: trace id -> [root span id, root end time or None].
        self._roots: dict[int, list[Any]] = {}
        self._roots_order: deque[int] = deque()
        self._last_identity: tuple[Any, str | None, str | None] = (None, None, None)
        self._shut_down = False
        _register(self)

    # -- SpanProcessor ------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        """Copy session/user ids from the context onto ``span`` and start tracking it."""
        if self._shut_down:
            return
        try:
            context = parent_context if parent_context is not None else _get_current()
            identity = self._last_identity
            if identity[0] is not context:
                identity = self._identity_of(context)
            if identity[1] is not None or identity[2] is not None:
                _spanwrite.set_identity(span, identity[1], identity[2])
            fields: Any = span if span.__class__ in _DIRECT else _span_fields(span)
            span_context = fields._context  # (trace_id, span_id, is_remote, ...)
            span_id = span_context[1]
            self._spans[span_id] = span
            order = self._order
            order.append(span_id)
            if len(order) > self.max_tracked_spans:
                self._spans.pop(order.popleft(), None)
            parent = fields._parent
            if parent is None or parent[2]:  # a local root: no parent, or a remote one
                scope = fields._instrumentation_scope
                if scope is None or scope.name != SCOPE_NAME:
                    self._remember_root(span_context[0], span_id)
        except Exception:  # noqa: BLE001 - a processor must never raise into the host app
            _log_internal_error("on_start")

    def on_end(self, span: ReadableSpan) -> None:
        """Remember when ``span`` ended (in place of the open span)."""
        try:
            fields: Any = span if span.__class__ in _DIRECT else _span_fields(span)
            span_context = fields._context
            if span_context is None:
                return
            span_id = span_context[1]
            end_time = fields._end_time or 0
            spans = self._spans
            if span_id in spans:  # not yet evicted
                spans[span_id] = end_time
            # A root's end outlives the bounded span table: a long-lived root with many
            # spans under it may have left that table while it was still open.
            root = self._roots.get(span_context[0])
            if root is not None and root[0] == span_id:
                root[1] = end_time
        except Exception:  # noqa: BLE001 - a processor must never raise into the host app
            _log_internal_error("on_end")

    def _remember_root(self, trace_id: int, span_id: int) -> None:
        roots = self._roots
        known = roots.get(trace_id)
        if known is None:
            roots[trace_id] = [span_id, None]
            order = self._roots_order
            order.append(trace_id)
            if len(order) > self.max_tracked_traces:
                roots.pop(order.popleft(), None)
        elif known[1] is not None:  # the trace's earlier local root ended: this one is current
            known[0], known[1] = span_id, None

    def _identity_of(
        self, context: otel_context.Context
    ) -> tuple[otel_context.Context, str | None, str | None]:
        """Session and user ids in ``context`` (as current_session_id / current_user_id).

        Remembered with the context they came from: contexts are immutable, and spans
        started one after another usually share theirs (siblings, or a loop of roots), so
        the next ``on_start`` compares one reference instead of reading four keys. The
        reference keeps that one context alive until the next span starts.
        """
        get = context.get
        session_id = get(_SESSION_KEY)
        if session_id is None:
            session_id = get(_OPENINFERENCE_SESSION_KEY)
        user_id = get(_USER_KEY)
        if user_id is None:
            user_id = get(_OPENINFERENCE_USER_KEY)
        identity = (
            context,
            session_id if isinstance(session_id, str) and session_id else None,
            user_id if isinstance(user_id, str) and user_id else None,
        )
        self._last_identity = identity
        return identity

    def shutdown(self) -> None:
        """Forget all tracked spans and stop tracking; flushes the log provider we emit to."""
        self._shut_down = True
        _unregister(self)
        self.force_flush()
        self._spans.clear()
        self._order.clear()
        self._roots.clear()
        self._roots_order.clear()
        self._last_identity = (None, None, None)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the log records this processor emits (spans flush with their provider).

        The tracer provider is not flushed from here: it is usually the provider this
        processor belongs to, which is flushing it right now.
        """
        flush = getattr(self.logger_provider, "force_flush", None)
        return bool(flush(timeout_millis)) if flush is not None else True

    # -- lookups for the helpers ------------------------------------------------------------

    def open_span(self, span_id: int) -> Span | None:
        """The tracked span with this id, if it has not ended."""
        entry = self._spans.get(span_id)
        return entry if entry is not None and entry.__class__ is not int else None

    def end_time_of(self, span_id: int) -> int | None:
        """When a recently ended span ended, if remembered."""
        entry = self._spans.get(span_id)
        return entry if entry.__class__ is int and entry else None

    def root_of(self, trace_id: int) -> RootInfo | None:
        """The local root span of a recent trace, if remembered."""
        root = self._roots.get(trace_id)
        return RootInfo(root[0], root[1]) if root is not None else None

    @property
    def tracked_counts(self) -> dict[str, int]:
        """How many open spans, ended spans and roots are held (for tests and monitoring)."""
        entries = list(self._spans.values())
        ended = sum(1 for entry in entries if entry.__class__ is int)
        return {"open": len(entries) - ended, "ended": ended, "roots": len(self._roots)}


_get_current = otel_context.get_current
_DIRECT = _spanwrite.DIRECT_FIELD_CLASSES
_span_fields = _spanwrite.span_fields


def _log_internal_error(hook: str) -> None:
    from otel_feedback._diagnostics import count, logger  # noqa: PLC0415 - cold path

    count("internal_error")
    logger.exception("FeedbackSpanProcessor.%s failed; the span is unaffected", hook)


# Processors alive and not shut down, oldest first. Weak, so a dropped provider's processor
# goes away with it. Replaced whole on change, so readers never need the lock.
_registry_lock = threading.Lock()
_processors: tuple[weakref.ref[FeedbackSpanProcessor], ...] = ()


def _register(processor: FeedbackSpanProcessor) -> None:
    global _processors
    with _registry_lock:
        _processors = (*(ref for ref in _processors if ref() is not None), weakref.ref(processor))


def _unregister(processor: FeedbackSpanProcessor) -> None:
    global _processors
    with _registry_lock:
        _processors = tuple(ref for ref in _processors if ref() not in (None, processor))


def active_processors() -> list[FeedbackSpanProcessor]:
    """Processors created and not shut down, oldest first."""
    return [processor for ref in _processors if (processor := ref()) is not None]
