"""``FeedbackSpanProcessor``: identity on every span, and a bounded memory of what feedback needs.

The processor exports nothing and emits nothing. As each span starts it copies ``session.id``
/ ``user.id`` from the context onto it. It remembers, in bounded memory, only what late
feedback needs to find its place:

* the **local root** of each recent trace (a span with no parent, or a remote one): the
  target of trace-level feedback (``enrich_session``, ``trace_id`` alone), while open and,
  after it ended, when it ended (two generations of a plain dict, so eviction is free);
* the spans a **feedback token** was issued for, or whose id a compat layer handed out
  (:meth:`track`): while open, and after they ended, when.

Other spans are not held: starting one costs a look at its context (whose facts, identity
and whether a span started in it is a local root, are worked out once per context object),
ending one a parent check. Feedback by ids for such a span still arrives, as a ``feedback``
span under it, placed inside its trace's local root: now while the root is open, else at
the root's end (docs/DESIGN.md §3).

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
from otel_feedback.context import LATE_FEEDBACK_KEY, identity_of
from otel_feedback.emit import Emitter
from otel_feedback.reporting import internal_error

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.trace import TracerProvider


_NEW_TRACE = "new trace"
"""A local root with no parent: its trace id was just generated, so the trace is new."""
_REMOTE_PARENT = "remote parent"
"""A local root continuing a remote parent: this process may have seen its trace before."""
_PLAIN_ROOT = "plain root"
"""The plan for a new trace's root with no identity to copy: the usual root, done inline."""
_GENERAL = "general"
"""The plan for a span with an identity to copy, or a local root with a remote parent."""

_ContextFacts = tuple[Any, "str | None", "tuple[str | None, str | None] | None", "str | None"]
"""What spans starting in one context need: (the context, the plan (None: nothing to do,
``_PLAIN_ROOT`` or ``_GENERAL``), the (session id, user id) to copy or None, the kind of local
root they are (``_NEW_TRACE``, ``_REMOTE_PARENT``) or None)."""
_NOTHING_TO_DO: _ContextFacts = (None, None, None, None)
"""The facts before any span started, and after shutdown: they match no context."""
_MISSING = (None,)
"""What ``on_end`` reads for a trace not in the young generation of roots: a tuple, like an
ended root, so one type check covers both."""


@dataclass(frozen=True, slots=True)
class RootInfo:
    """The local root span of a trace: its id and, once it ended, when."""

    span_id: int
    end_time: int | None = None


class FeedbackSpanProcessor(SpanProcessor):
    """Add with ``provider.add_span_processor(FeedbackSpanProcessor())``, in any order.

    Args:
        max_tracked_spans: how many spans a token was issued for are tracked (the newest).
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
        # Tokened spans: span id -> the open Span, or (trace id, end time) once it ended;
        # `_order` holds the same ids oldest first, so eviction is O(1).
        self._spans: dict[int, Any] = {}
        self._order: deque[int] = deque()
        self._lock = threading.Lock()
        # Local roots of recent traces: trace id -> the open root Span, or (root span id,
        # end time) once it ended. Two generations of a plain dict: when the young one is
        # full it becomes the old one and the old one is dropped, so eviction is free.
        self._roots: dict[int, Any] = {}
        self._roots_old: dict[int, Any] = {}
        self._roots_generation = max(1, max_tracked_traces // 2)
        # The facts of the last context a span started in (see _ContextFacts). One tuple, so
        # threads never read one context's facts with another's.
        self._last_context: _ContextFacts = _NOTHING_TO_DO
        # Whether on_end has more to watch than roots with no parent: set, until shutdown,
        # once a span is tracked or a local root under a remote parent started.
        self._watching_ends = False
        self._shut_down = False
        REGISTRY.add(self)

    # -- SpanProcessor ------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        """Copy session/user ids from the context onto ``span``; remember it if a local root."""
        try:
            context = parent_context if parent_context is not None else _current_context()
            seen = self._last_context
            if seen[0] is not context:
                seen = self._context_seen(span, context)
            if seen[1]:  # a plan: seen[1] is _PLAIN_ROOT or _GENERAL
                if seen[1] is _PLAIN_ROOT:  # the usual root: a new trace, no identity to copy
                    try:
                        span_context: Any = span._context  # the SDK's own field
                        trace_id = span_context[0]
                    except AttributeError:  # not an SDK span: read its public properties
                        trace_id = _context_of(span)[0]
                    roots = self._roots  # _add_root, inline on the hot path
                    roots[trace_id] = span
                    if len(roots) >= self._roots_generation:
                        self._roots_old, self._roots = roots, {}
                else:
                    self._start_with(span, seen[2], seen[3])
        except Exception:  # noqa: BLE001 - a processor must never raise into the host app
            internal_error("FeedbackSpanProcessor.on_start")

    def _context_seen(self, span: Span, context: otel_context.Context) -> _ContextFacts:
        """What spans starting in ``context`` need, worked out once per context object: the
        context decides a new span's parent, so also whether the span is a local root."""
        if self._shut_down:
            return _NOTHING_TO_DO
        identity = _identity_pair(context)
        root = _root_kind(span, context)
        if identity is None and root is None:
            plan = None
        elif identity is None and root is _NEW_TRACE and _SDK_FIELDS:
            plan = _PLAIN_ROOT
        else:
            plan = _GENERAL
        facts = (context, plan, identity, root)
        self._last_context = facts
        return facts

    def _start_with(
        self, span: Span, identity: tuple[str | None, str | None] | None, root: str | None
    ) -> None:
        """``on_start`` for a span carrying an identity, or a local root with a remote parent."""
        if identity is not None:
            _sdk.set_identity(span, *identity)
        if root is None:
            return
        trace_id = _context_of(span)[0]
        if root is _NEW_TRACE:  # no parent: the trace id was just generated
            self._add_root(trace_id, span)
        else:  # a remote parent: this process may have seen the trace before
            self._watching_ends = True
            self._remote_root(trace_id, span)

    def _add_root(self, trace_id: int, span: Span) -> None:
        """Remember ``span`` as a new trace's root (``on_start`` does this inline)."""
        roots = self._roots
        roots[trace_id] = span
        if len(roots) >= self._roots_generation:  # full: it becomes the old generation
            self._roots_old, self._roots = roots, {}

    def _remote_root(self, trace_id: int, span: Span) -> None:
        """It becomes the trace's root unless an earlier local root of the trace is still
        open (then that one stays the root)."""
        for roots in (self._roots, self._roots_old):
            known = roots.get(trace_id)
            if known is not None:
                if known.__class__ is tuple:  # the earlier one ended: a new request
                    roots[trace_id] = span
                return
        self._add_root(trace_id, span)

    def on_end(self, span: ReadableSpan) -> None:
        """Remember when a local root or a tokened span ended (other spans cost one check)."""
        try:
            parent = span._parent  # the SDK's own fields (_SDK_FIELDS)
            if parent is None:  # a local root, unless it is one of our own feedback spans
                span_context: Any = span._context
                try:
                    root = self._roots[span_context[0]]
                except KeyError:  # not in the young generation
                    root = _MISSING
                if root.__class__ is not tuple:  # open: a trace with no parent has one root
                    self._roots[span_context[0]] = (span_context[1], span._end_time)
                elif root is _MISSING:
                    self._root_ended(span)
            if self._watching_ends:
                self._ended_watched(span, parent)
        except AttributeError:  # not an SDK span: read its public properties
            self._on_end_public(span)
        except Exception:  # noqa: BLE001 - a processor must never raise into the host app
            internal_error("FeedbackSpanProcessor.on_end")

    def _ended_watched(self, fields: Any, parent: Any) -> None:
        """``on_end`` once spans are tracked or a local root had a remote parent: remember
        the end of such a span."""
        if parent is not None and parent[2]:  # a local root under a remote parent?
            self._root_ended(fields)
        span_context = fields._context
        if span_context[1] not in self._spans:  # most spans are not tracked: no lock for them
            return
        with self._lock:
            if span_context[1] in self._spans:
                self._spans[span_context[1]] = (span_context[0], fields._end_time or 0)

    def _on_end_public(self, span: ReadableSpan) -> None:
        """``on_end`` reading ``span`` through its public properties."""
        try:
            fields = _sdk.SpanFields(span)
            if fields._parent is None:
                self._root_ended(fields)
            self._ended_watched(fields, fields._parent)
        except Exception:  # noqa: BLE001 - a processor must never raise into the host app
            internal_error("FeedbackSpanProcessor.on_end")

    if not _sdk.SDK_FIELDS_READABLE:  # this SDK's span fields are not what its spans report
        on_end = _on_end_public

    def _root_ended(self, fields: Any) -> None:
        """If the span that ended is the open root its trace has stored, remember its end."""
        span_context = fields._context
        for roots in (self._roots, self._roots_old):
            root = roots.get(span_context[0])
            if root is not None:
                if root.__class__ is not tuple and _context_of(root)[1] == span_context[1]:
                    roots[span_context[0]] = (span_context[1], fields._end_time)
                return

    def _root(self, trace_id: int) -> tuple[int, Span | None, int | None] | None:
        """``(root span id, the open root or None, end time or None)`` of a recent trace."""
        root = self._roots.get(trace_id)
        if root is None:
            root = self._roots_old.get(trace_id)
            if root is None:
                return None
        if root.__class__ is tuple:
            return root[0], None, root[1] or None
        return _context_of(root)[1], root, None

    def shutdown(self) -> None:
        """Forget everything tracked, stop tracking, leave the registry; flush our log records."""
        self._shut_down = True
        self._last_context = _NOTHING_TO_DO
        self._watching_ends = False
        REGISTRY.remove(self)
        self.force_flush()
        with self._lock:
            self._spans.clear()
            self._order.clear()
        self._roots.clear()
        self._roots_old.clear()

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
        self._watching_ends = True  # before the span is in the table: on_end must look
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
        if root is not None and root[0] == span_id:
            return root[1]
        return None

    def end_time_of(self, trace_id: int, span_id: int) -> int | None:
        """When a tokened span or the trace's local root ended, if remembered."""
        entry = self._spans.get(span_id)
        if entry.__class__ is tuple and entry[0] == trace_id and entry[1]:
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
        """``(trace id, end time or None)`` of a tokened span or a root with this span id."""
        entry = self._spans.get(span_id)
        if entry is not None:
            if entry.__class__ is not tuple:
                return entry.get_span_context().trace_id, None
            return int(entry[0]), int(entry[1]) or None
        for trace_id in [*self._roots_old, *self._roots]:
            root = self._root(trace_id)
            if root is not None and root[0] == span_id:
                return trace_id, root[2]
        return None

    def knows(self, trace_id: int, span_id: int | None) -> bool:
        """Whether this processor tracks the span or the root of its trace."""
        return (
            trace_id in self._roots
            or trace_id in self._roots_old
            or (span_id is not None and span_id in self._spans)
        )

    @property
    def tracked_counts(self) -> dict[str, int]:
        """How many tracked spans are open and ended, and how many roots are remembered
        (for tests and monitoring)."""
        entries = [*self._spans.values(), *self._roots_old.values(), *self._roots.values()]
        ended = sum(1 for entry in entries if entry.__class__ is tuple)
        return {
            "open": len(entries) - ended,
            "ended": ended,
            "roots": len(self._roots_old) + len(self._roots),
        }


_current_context = _sdk.current_context_getter()
_DIRECT = _sdk.DIRECT_FIELD_CLASSES
_span_fields = _sdk.span_fields
_SDK_FIELDS = _sdk.SDK_FIELDS_READABLE
"""Whether ``on_start`` / ``on_end`` read the SDK's spans by their fields, as the SDK itself
does (no class check per span); objects without those fields are read through their public
properties. When the probe fails, ``on_start`` takes no root for a plain one and the class's
``on_end`` is ``_on_end_public``, chosen once when the class is made."""


def _context_of(span: Any) -> Any:
    """The span context of a span the processor holds (read without a property call)."""
    fields: Any = span if span.__class__ in _DIRECT else _span_fields(span)
    return fields._context


def _identity_pair(context: otel_context.Context) -> tuple[str | None, str | None] | None:
    """``(session id, user id)`` carried by ``context``, or None when it carries neither."""
    session_id, user_id = identity_of(context)
    return None if session_id is None and user_id is None else (session_id, user_id)


def _root_kind(span: Any, context: otel_context.Context) -> str | None:
    """Whether ``span``, started in ``context``, is a local root the processor remembers, and
    which kind: :data:`_NEW_TRACE` (no parent) or :data:`_REMOTE_PARENT`; None for a span with
    a local parent, and for our own late ``feedback`` spans."""
    if context.get(LATE_FEEDBACK_KEY) is not None:
        return None
    fields: Any = span if span.__class__ in _DIRECT else _span_fields(span)
    parent = fields._parent
    if parent is None:
        return _NEW_TRACE
    return _REMOTE_PARENT if parent[2] else None


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
