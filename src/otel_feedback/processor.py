"""``FeedbackSpanProcessor``: identity on every span, and a bounded memory of what feedback needs.

The processor exports nothing and emits nothing. As each span starts it copies ``session.id``
/ ``user.id`` from the context onto it. It remembers, in bounded memory, only what late
feedback needs to find its place:

* the **local root** of each recent trace (a span with no parent, or a remote one): the
  target of trace-level feedback (``enrich_session``, ``trace_id`` alone), while open and,
  after it ended, when it ended;
* the spans a **feedback token** was issued for (:meth:`track`), while they are open;
* when recent spans **ended** (two generations of a plain dict, so eviction is free).

Other open spans are not tracked: starting one costs one parent check. Feedback by id for an
open span that is neither current, a root nor tokened still arrives, as a ``feedback`` span
under it (placed now, inside its lifetime).

How helpers find a processor is explicit: every processor registers itself in
:data:`REGISTRY` when created and leaves it at ``shutdown()``; :mod:`otel_feedback.delivery`
asks the registered processors which one tracks a target, and uses that processor's
:class:`~otel_feedback.emit.Emitter` for late feedback.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from otel_feedback import _sdk
from otel_feedback.context import identity_of
from otel_feedback.conventions import SCOPE_NAME
from otel_feedback.emit import Emitter
from otel_feedback.reporting import internal_error

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.trace import TracerProvider


@dataclass(frozen=True, slots=True)
class RootInfo:
    """The local root span of a trace: its id and, once it ended, when."""

    span_id: int
    end_time: int | None = None


class FeedbackSpanProcessor(SpanProcessor):
    """Add with ``provider.add_span_processor(FeedbackSpanProcessor())``, in any order.

    Args:
        max_tracked_spans: bound of the tables of spans a token was issued for and of recently
            ended spans (each keeps between the newest half and all of that many).
        max_tracked_traces: recent traces whose local root span is remembered (between the
            newest half and all of that many).
        tracer_provider: the provider this processor is added to, through which late
            feedback for its spans is emitted; default the global one (``configure()``
            passes the provider it builds).
        emit_log_records: also emit each feedback as an OTel log record
            (``event_name="gen_ai.evaluation.result"``), for log-based pipelines.
        logger_provider: provider for those log records; default the global one.

    The last three only choose this processor's :attr:`emitter`; the processor itself
    never emits.
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
        self.emitter = Emitter(tracer_provider, logger_provider, emit_log_records)
        """Where late feedback for this processor's spans goes (used by delivery only)."""
        # Tracked spans: span id -> the open Span, or (trace id, end time) once ended;
        # `_order` holds the same ids oldest first, so eviction is O(1).
        # Recently ended spans: span id -> (trace id, end time), in two generations: when
        # the young one is full it becomes the old one, and the old one is dropped.
        self._ended: dict[int, tuple[int, int]] = {}
        self._ended_old: dict[int, tuple[int, int]] = {}
        self._generation_size = max(1, max_tracked_spans // 2)
        self._spans: dict[int, Any] = {}
        self._order: deque[int] = deque()
        self._lock = threading.Lock()
        # Local roots of recent traces: trace id -> [root span id, open Span or None,
        # end time or None], in two generations like the ended spans.
        self._roots: dict[int, list[Any]] = {}
        self._roots_old: dict[int, list[Any]] = {}
        self._roots_generation = max(1, max_tracked_traces // 2)
        self._last_identity: tuple[Any, str | None, str | None] = (None, None, None)
        self._shut_down = False
        REGISTRY.add(self)

    # -- SpanProcessor ------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        """Copy session/user ids from the context onto ``span``; remember it if a local root."""
        if self._shut_down:
            return
        try:
            context = parent_context if parent_context is not None else _get_current()
            identity = self._last_identity
            if identity[0] is not context:
                identity = self._last_identity = (context, *identity_of(context))
            if identity[1] is not None or identity[2] is not None:
                _sdk.set_identity(span, identity[1], identity[2])
            fields: Any = span if span.__class__ in _DIRECT else _span_fields(span)
            parent = fields._parent
            if parent is None or parent[2]:  # a local root: no parent, or a remote one
                scope = fields._instrumentation_scope
                if scope is None or scope.name != SCOPE_NAME:
                    span_context = fields._context
                    trace_id = span_context[0]
                    roots = self._roots
                    if trace_id in roots or trace_id in self._roots_old:
                        self._remember_root(trace_id, span_context[1], span)
                    else:  # a new trace, the usual case: inline
                        roots[trace_id] = [span_context[1], span, None]
                        if len(roots) >= self._roots_generation:
                            self._roots_old, self._roots = roots, {}
        except Exception:  # noqa: BLE001 - a processor must never raise into the host app
            internal_error("FeedbackSpanProcessor.on_start")

    def on_end(self, span: ReadableSpan) -> None:
        """Remember when a tracked span or a local root ended."""
        try:
            fields: Any = span if span.__class__ in _DIRECT else _span_fields(span)
            span_context = fields._context
            if span_context is None:
                return
            trace_id, span_id = span_context[0], span_context[1]
            ended = (trace_id, fields._end_time or 0)
            young = self._ended
            young[span_id] = ended
            if len(young) >= self._generation_size:
                self._ended_old, self._ended = young, {}
            parent = fields._parent
            if parent is None or parent[2]:  # a local root: its end outlives the tables
                root = self._roots.get(trace_id) or self._roots_old.get(trace_id)
                if root is not None and root[0] == span_id:
                    root[1], root[2] = None, ended[1]
            if self._spans and span_id in self._spans:
                self._spans[span_id] = ended
        except Exception:  # noqa: BLE001 - a processor must never raise into the host app
            internal_error("FeedbackSpanProcessor.on_end")

    def _remember_root(self, trace_id: int, span_id: int, span: Span) -> None:
        roots = self._roots
        known = roots.get(trace_id)
        if known is None:
            known = self._roots_old.get(trace_id)
        if known is None:
            roots[trace_id] = [span_id, span, None]
            if len(roots) >= self._roots_generation:
                self._roots_old, self._roots = roots, {}
        elif known[2] is not None:  # the trace's earlier local root ended: this one is current
            known[0], known[1], known[2] = span_id, span, None

    def _root(self, trace_id: int) -> list[Any] | None:
        root = self._roots.get(trace_id)
        return root if root is not None else self._roots_old.get(trace_id)

    def shutdown(self) -> None:
        """Forget everything tracked, stop tracking, leave the registry; flush our log records."""
        self._shut_down = True
        REGISTRY.remove(self)
        self.force_flush()
        with self._lock:
            self._spans.clear()
            self._order.clear()
        self._ended.clear()
        self._ended_old.clear()
        self._roots.clear()
        self._roots_old.clear()
        self._last_identity = (None, None, None)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the log records emitted for this processor's spans (spans flush with their
        provider, which is usually flushing this processor right now)."""
        return self.emitter.flush_logs(timeout_millis)

    # -- what delivery asks -----------------------------------------------------------------

    def track(self, span: Any) -> None:
        """Track ``span`` (open) so feedback by its id finds it, and its end is remembered."""
        if self._shut_down or not isinstance(span, Span):
            return
        span_id = span.get_span_context().span_id
        with self._lock:
            if span_id in self._spans:
                return
            ended = span.end_time
            self._spans[span_id] = (
                span if ended is None else (span.get_span_context().trace_id, ended)
            )
            order = self._order
            order.append(span_id)
            if len(order) > self.max_tracked_spans:
                self._spans.pop(order.popleft(), None)

    def open_span(self, trace_id: int, span_id: int) -> Span | None:
        """The span with these ids, if this processor tracks it and it has not ended."""
        entry = self._spans.get(span_id)
        if entry is not None and entry.__class__ is not tuple:
            return entry if entry.get_span_context().trace_id == trace_id else None
        root = self._root(trace_id)
        if root is not None and root[0] == span_id and root[1] is not None:
            span: Span = root[1]
            return span
        return None

    def end_time_of(self, trace_id: int, span_id: int) -> int | None:
        """When a tracked span (or the trace's local root) ended, if remembered."""
        entry = self._spans.get(span_id)
        if entry.__class__ is not tuple:
            entry = self._ended.get(span_id) or self._ended_old.get(span_id)
        if entry is not None and entry[0] == trace_id and entry[1]:
            return int(entry[1])
        root = self._root(trace_id)
        if root is not None and root[0] == span_id and root[2]:
            return int(root[2])
        return None

    def root_of(self, trace_id: int) -> RootInfo | None:
        """The local root span of a recent trace, if remembered."""
        root = self._root(trace_id)
        return RootInfo(root[0], root[2]) if root is not None else None

    def find_span(self, span_id: int) -> tuple[int, int | None] | None:
        """``(trace id, end time or None)`` of a tracked span or root with this span id."""
        entry = self._spans.get(span_id)
        if entry is not None and entry.__class__ is not tuple:
            return entry.get_span_context().trace_id, None
        if entry is None:
            entry = self._ended.get(span_id) or self._ended_old.get(span_id)
        if entry is not None:
            return int(entry[0]), int(entry[1]) or None
        for trace_id, root in [*self._roots_old.items(), *self._roots.items()]:
            if root[0] == span_id:
                return trace_id, root[2]
        return None

    def knows(self, trace_id: int, span_id: int | None) -> bool:
        """Whether this processor tracks the span or the root of its trace."""
        return trace_id in self._roots or trace_id in self._roots_old or (
            span_id is not None
            and (span_id in self._spans or span_id in self._ended or span_id in self._ended_old)
        )

    @property
    def tracked_counts(self) -> dict[str, int]:
        """How many open spans, ended spans and roots are held (for tests and monitoring)."""
        entries = list(self._spans.values())
        tokened_open = sum(1 for entry in entries if entry.__class__ is not tuple)
        roots = [*self._roots_old.values(), *self._roots.values()]
        open_roots = sum(1 for root in roots if root[1] is not None)
        return {
            "open": tokened_open + open_roots,
            "ended": len(self._ended) + len(self._ended_old),
            "roots": len(roots),
        }


_get_current = otel_context.get_current
_DIRECT = _sdk.DIRECT_FIELD_CLASSES
_span_fields = _sdk.span_fields


class ProcessorRegistry:
    """The processors of this process that are alive and not shut down, oldest first.

    Held weakly, so a dropped provider's processor leaves with it. Replaced whole on
    change, so readers never take the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refs: tuple[weakref.ref[FeedbackSpanProcessor], ...] = ()

    def add(self, processor: FeedbackSpanProcessor) -> None:
        """Register ``processor`` (done by its constructor)."""
        with self._lock:
            alive = tuple(ref for ref in self._refs if ref() is not None)
            self._refs = (*alive, weakref.ref(processor))

    def remove(self, processor: FeedbackSpanProcessor) -> None:
        """Unregister ``processor`` (done by its ``shutdown()``)."""
        with self._lock:
            self._refs = tuple(ref for ref in self._refs if ref() not in (None, processor))

    def processors(self) -> list[FeedbackSpanProcessor]:
        """Every registered processor, oldest first."""
        return [processor for ref in self._refs if (processor := ref()) is not None]

    def owner(self, trace_id: int, span_id: int | None) -> FeedbackSpanProcessor | None:
        """The processor tracking the span or its trace's root, else the oldest, else None."""
        processors = self.processors()
        for processor in processors:
            if processor.knows(trace_id, span_id):
                return processor
        return processors[0] if processors else None


REGISTRY = ProcessorRegistry()
"""Every live :class:`FeedbackSpanProcessor`; delivery finds the owner of a target here."""


def active_processors() -> list[FeedbackSpanProcessor]:
    """Processors created and not shut down, oldest first."""
    return REGISTRY.processors()
