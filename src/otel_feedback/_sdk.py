"""The one module that touches OpenTelemetry SDK internals (docs/DESIGN.md §5).

What it does with them, each feature-detected with a fallback to the public API and proven
equivalent by tests (``tests/test_spanwrite_equivalence.py``, ``test_processor_fastpath.py``):

* :func:`write` — flattened feedback onto an open SDK span, never evicting an attribute;
* :func:`set_identity` — ``session.id`` / ``user.id`` in one critical section;
* :func:`span_fields` — the processor's reads of a span without a property call per field;
* :func:`current_span_getter` — ``trace.get_current_span()`` without its ABC check per call;
* :func:`current_context_getter` — the current context read straight from its context
  variable, without two Python calls;
* :func:`attribute_limit`, :func:`event_attribute_limit` — the span limits in force;
* :func:`tracer_in_trace` — a tracer whose next root span joins a given trace id.

``set_attributes`` re-validates every value and, past ``SpanLimits.max_span_attributes``,
silently evicts the span's *oldest* attributes. Flattened feedback is already clean, and must
never evict what the application set. So, when the span is the SDK's ``Span`` with the
internals this module was written against (feature-detected once per class), it writes
directly under the span's lock: checking the ended state, moving re-set keys to the end as
the SDK does, truncating strings to the span's limit, and appending the event, all in one
critical section, so feedback can never half-land on a span that is ending. Otherwise it
falls back to the public ``set_attributes`` / ``add_event``. Either way, the attributes that
do not fit are returned to the caller instead of evicting others.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, cast

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanLimits
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext
from opentelemetry.trace import propagation as trace_propagation

from otel_feedback.conventions import SESSION_ID, USER_ID, annotation_key
from otel_feedback.flatten import Attributes
from otel_feedback.reporting import logger

_fast_classes: dict[type, bool] = {}
_default_limits: SpanLimits | None = None


def supports_fast_path(span: object) -> bool:
    """Whether ``span`` has the SDK internals the direct write relies on."""
    kind = type(span)
    known = _fast_classes.get(kind)
    if known is None:
        known = _probe(span)
        _fast_classes[kind] = known
    return known


def _probe(span: object) -> bool:
    attributes = getattr(span, "_attributes", None)
    return (
        isinstance(span, Span)
        # threading.Lock is a factory function; compare with the type of a real lock.
        and isinstance(getattr(span, "_lock", None), type(threading.Lock()))
        and hasattr(span, "_end_time")
        and hasattr(span, "_events")
        and hasattr(span, "_limits")
        and type(attributes) is BoundedAttributes
        and isinstance(getattr(attributes, "_dict", None), dict)
        and isinstance(getattr(attributes, "_lock", None), type(threading.Lock()))
        and hasattr(attributes, "maxlen")
        and hasattr(attributes, "max_value_len")
    )


def write(
    span: Span,
    attributes: Attributes,
    event: tuple[str, Attributes] | None = None,
    *,
    annotation: Attributes | None = None,
    timestamp: int | None = None,
    fast: bool | None = None,
) -> Attributes | None:
    """Write ``attributes`` (and an event) onto an open span without evicting any attribute.

    Both must be clean attribute values (what :func:`~otel_feedback.flatten` returns).
    ``annotation`` holds the fields of one OpenInference annotation: they are written as
    ``annotations.<i>.annotation.<field>`` at the first index ``i`` free on the span, chosen
    in the same critical section as the write. ``timestamp`` is the event's (default: now).
    Returns the attributes that did not fit (usually ``{}``), or ``None`` when the span had
    already ended and nothing was written. ``fast`` forces a path (for tests).
    """
    if fast is None:
        fast = _fast_classes.get(type(span))  # supports_fast_path's cache, without its call
        if fast is None:
            fast = supports_fast_path(span)
    if fast:
        return _write_direct(span, attributes, event, timestamp, annotation)
    return _write_public(span, attributes, event, timestamp, annotation)


def _with_annotation(
    attributes: Attributes, annotation: Attributes | None, existing: Any
) -> Attributes:
    """``attributes`` plus ``annotation`` at the first annotation index free in ``existing``."""
    if not annotation:
        return attributes
    index = 0
    while annotation_key(index, "name") in existing:
        index += 1
    combined = dict(attributes)
    for field, value in annotation.items():
        combined[annotation_key(index, field)] = value
    return combined


def set_identity(span: Span, session_id: str | None, user_id: str | None) -> None:
    """``span.set_attribute`` of ``session.id`` then ``user.id`` (those not ``None``).

    Called by the processor on every span started in a session, so on an SDK span with
    room for them (and no value length limit) the two are written in one critical section,
    exactly as ``set_attribute`` would (a re-set key moves to the end); otherwise, and
    whenever the SDK would evict or truncate, through ``set_attribute`` itself.
    """
    if supports_fast_path(span):
        span_any: Any = span
        bounded: Any = span_any._attributes
        with span_any._lock:
            if span_any._end_time is None and bounded.max_value_len is None:
                with bounded._lock:
                    stored = bounded._dict
                    maxlen = bounded.maxlen
                    new = (session_id is not None and SESSION_ID not in stored) + (
                        user_id is not None and USER_ID not in stored
                    )
                    if maxlen is None or len(stored) + new <= maxlen:
                        if session_id is not None:
                            stored.pop(SESSION_ID, None)
                            stored[SESSION_ID] = session_id
                        if user_id is not None:
                            stored.pop(USER_ID, None)
                            stored[USER_ID] = user_id
                        return
    if session_id is not None:
        span.set_attribute(SESSION_ID, session_id)
    if user_id is not None:
        span.set_attribute(USER_ID, user_id)


def _truncate(value: Any, limit: int) -> Any:
    if type(value) is str:
        if len(value) > limit:
            logger.warning("feedback string longer than %d characters truncated", limit)
            return value[:limit]
        return value
    if type(value) is tuple and value and type(value[0]) is str:
        return tuple(_truncate(item, limit) for item in value)
    return value


def _write_direct(
    span: Span,
    attributes: Attributes,
    event: tuple[str, Attributes] | None,
    timestamp: int | None = None,
    annotation: Attributes | None = None,
) -> Attributes | None:
    span_any: Any = span
    bounded: Any = span_any._attributes
    overflow: Attributes = {}
    with span_any._lock:
        if span_any._end_time is not None:
            return None
        max_value_len = bounded.max_value_len
        maxlen = bounded.maxlen
        with bounded._lock:
            stored = bounded._dict
            if annotation:  # enrich_span's writes have none: no call
                attributes = _with_annotation(attributes, annotation, stored)
            free = maxlen - len(stored) if maxlen is not None else len(attributes)
            if max_value_len is None and free >= len(attributes) and stored.keys().isdisjoint(
                attributes
            ):
                # All new keys, all fit, nothing to truncate: what the loop below does,
                # in one C call.
                stored.update(attributes)
                attributes = {}
            for key, value in attributes.items():
                clean = value if max_value_len is None else _truncate(value, max_value_len)
                if key in stored:
                    del stored[key]
                    stored[key] = clean
                elif free > 0:
                    stored[key] = clean
                    free -= 1
                else:
                    overflow[key] = value
        if event is not None:
            event_attributes = event_bounded_attributes(span_any._limits, event[1])
            span_any._events.append(Event(event[0], event_attributes, timestamp))
    return overflow


def event_bounded_attributes(limits: SpanLimits, attributes: Attributes) -> BoundedAttributes:
    """What ``Span.add_event`` makes of clean ``attributes``: a frozen BoundedAttributes.

    When they all fit and no value length limit applies, the SDK's per-value cleaning would
    return every value as it is, so they are copied in with one ``dict.update``.
    """
    maxlen = limits.max_event_attributes
    max_value_len = limits.max_attribute_length
    if max_value_len is None and maxlen != 0 and (maxlen is None or len(attributes) <= maxlen):
        bounded = BoundedAttributes(maxlen, None, max_value_len=None, immutable=True)
        bounded_any: Any = bounded
        bounded_any._dict.update(attributes)
        return bounded
    return BoundedAttributes(maxlen, attributes, max_value_len=max_value_len, immutable=True)


def _write_public(
    span: Span,
    attributes: Attributes,
    event: tuple[str, Attributes] | None,
    timestamp: int | None = None,
    annotation: Attributes | None = None,
) -> Attributes | None:
    if not span.is_recording() or getattr(span, "end_time", None) is not None:
        return None
    existing = getattr(span, "attributes", None) or {}
    attributes = _with_annotation(attributes, annotation, existing)
    limits = getattr(span, "_limits", None)  # an SDK span's own limits, when it has them
    limit = (limits if isinstance(limits, SpanLimits) else _limits()).max_span_attributes
    free = limit - len(existing) if limit is not None else len(attributes)
    fitting: Attributes = {}
    overflow: Attributes = {}
    for key, value in attributes.items():
        if key in existing:
            fitting[key] = value
        elif free > 0:
            fitting[key] = value
            free -= 1
        else:
            overflow[key] = value
    span.set_attributes(fitting)
    if event is not None:
        span.add_event(event[0], event[1], timestamp=timestamp)
    return overflow


def _limits() -> SpanLimits:
    global _default_limits
    if _default_limits is None:
        _default_limits = SpanLimits()
    return _default_limits


# -- reading spans in the processor's hooks -------------------------------------------------
#
# FeedbackSpanProcessor.on_start / on_end run for every span, and read its context, parent,
# scope and start / end time. Through the public properties that is a Python call per field
# (about a third of the processor's cost); the SDK's ReadableSpan keeps the same values in
# plain attributes. A class whose properties are ReadableSpan's own, when a probe of
# ReadableSpan confirms the attributes hold what the properties return, is read directly;
# any other span goes through SpanFields, which reads the public properties.

_FIELD_PROPERTIES = ("context", "parent", "instrumentation_scope", "start_time", "end_time")


class SpanFields:
    """What the processor reads from a span, taken from its public properties (fallback).

    ``_context`` and ``_parent`` are ``(trace_id, span_id, is_remote)`` tuples or ``None``,
    which is how a SpanContext reads by index.
    """

    __slots__ = ("_context", "_end_time", "_instrumentation_scope", "_parent", "_start_time")

    def __init__(self, span: Any) -> None:
        self._context = _ids(getattr(span, "context", None))
        self._parent = _ids(getattr(span, "parent", None))
        self._instrumentation_scope = getattr(span, "instrumentation_scope", None)
        self._start_time = getattr(span, "start_time", None)
        self._end_time = getattr(span, "end_time", None)


def _ids(span_context: Any) -> tuple[int, int, bool] | None:
    if span_context is None:
        return None
    return (span_context.trace_id, span_context.span_id, span_context.is_remote)


def _probe_fields() -> bool:
    try:
        context = SpanContext(0xA1, 0xB2, False)
        parent = SpanContext(0xA1, 0xC3, True)
        scope = InstrumentationScope("probe")
        span: Any = ReadableSpan(
            name="probe",
            context=context,
            parent=parent,
            instrumentation_scope=scope,
            start_time=5,
            end_time=7,
        )
        return (
            span._context is span.context is context
            and span._parent is span.parent is parent
            and span._instrumentation_scope is span.instrumentation_scope is scope
            and span._start_time == span.start_time == 5
            and span._end_time == span.end_time == 7
            and context[:3] == (context.trace_id, context.span_id, context.is_remote)
            and parent[:3] == (parent.trace_id, parent.span_id, parent.is_remote)
        )
    except Exception:  # noqa: BLE001 - any surprise means: use the public properties
        return False


_fields_ok = _probe_fields()
SDK_FIELDS_READABLE: bool = _fields_ok
"""Whether the SDK's spans carry ``_context``, ``_parent``, ``_instrumentation_scope``,
``_start_time`` and ``_end_time`` equal to their public properties (probed at import): the
processor's per-span hooks then read the spans the SDK hands them by these fields."""
_field_classes: dict[type, bool] = {}
DIRECT_FIELD_CLASSES: set[type] = set()
"""Span classes read directly; the processor checks membership before calling span_fields."""


def span_fields(span: Any) -> Any:
    """``span`` itself when its class can be read directly, else a :class:`SpanFields`."""
    kind = type(span)
    direct = _field_classes.get(kind)
    if direct is None:
        direct = (
            _fields_ok
            and issubclass(kind, ReadableSpan)
            and all(getattr(kind, name, None) is getattr(ReadableSpan, name)
                    for name in _FIELD_PROPERTIES)
        )
        _field_classes[kind] = direct
        if direct:
            DIRECT_FIELD_CLASSES.add(kind)
    return span if direct else SpanFields(span)


def current_context_getter() -> Callable[[], otel_context.Context]:
    """A function returning the current context: the context variable's own ``get`` when the
    API's runtime context is the standard ``ContextVarsRuntimeContext`` (chosen once, at
    import, by ``OTEL_PYTHON_CONTEXT``), else :func:`opentelemetry.context.get_current`."""
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    variable = getattr(runtime, "_current_context", None)
    if type(runtime) is ContextVarsRuntimeContext and isinstance(variable, ContextVar):
        try:
            if variable.get() is otel_context.get_current():
                return cast(Callable[[], otel_context.Context], variable.get)
        except Exception:  # noqa: BLE001 - any surprise means: use the public function
            pass
    return otel_context.get_current


def current_span_getter() -> Callable[[], trace.Span]:
    """A function returning ``trace.get_current_span()``.

    That function checks ``isinstance(span, Span)`` on every call, through ``ABCMeta`` (a
    Python call). Here the span is read from the current context (see
    :func:`current_context_getter`) under the API's private key, and the check is made once
    per span class: a class that is a subclass of ``Span`` stays one. When a probe does not
    find the span under that key, it is ``trace.get_current_span`` itself.
    """
    key = getattr(trace_propagation, "_SPAN_KEY", None)
    try:
        probe = trace.NonRecordingSpan(SpanContext(0xA1, 0xB2, False))
        context = trace.set_span_in_context(probe, otel_context.Context())
        found = isinstance(key, str) and context.get(key) is probe
        found = found and trace.get_current_span(context) is probe
    except Exception:  # noqa: BLE001 - any surprise means: use the public function
        found = False
    if not found:
        return trace.get_current_span
    current_context = current_context_getter()
    span_classes: set[type] = set()

    def current_span() -> trace.Span:
        span = current_context().get(cast(str, key))
        if type(span) in span_classes:
            return cast(trace.Span, span)
        if not isinstance(span, trace.Span):  # None included, as get_current_span checks
            return trace.INVALID_SPAN
        if issubclass(type(span), trace.Span):  # not through a __class__ of its own
            span_classes.add(type(span))
        return span

    return current_span


# -- limits and ids for the feedback spans of late feedback ------------------------------------


def span_limits(provider: trace.TracerProvider | None) -> SpanLimits:
    """The ``SpanLimits`` of ``provider`` (the SDK keeps them private), else the defaults."""
    limits = getattr(provider, "_span_limits", None)
    return limits if isinstance(limits, SpanLimits) else _limits()


def attribute_limit(provider: trace.TracerProvider) -> int:
    """``max_span_attributes`` of ``provider`` (the SDK keeps it private), else the default."""
    limit = span_limits(provider).max_span_attributes
    return limit if limit is not None else 1 << 30


def event_attribute_limit() -> int | None:
    """``max_event_attributes`` in force (``OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT``)."""
    return _limits().max_event_attributes


class _FixedTraceId(IdGenerator):
    """Span ids from the provider's generator; the trace id of the target trace."""

    def __init__(self, trace_id: int, delegate: IdGenerator) -> None:
        self._trace_id = trace_id
        self._delegate = delegate

    def generate_span_id(self) -> int:
        return self._delegate.generate_span_id()

    def generate_trace_id(self) -> int:
        return self._trace_id


def tracer_in_trace(tracer: trace.Tracer, trace_id: int) -> trace.Tracer:
    """A copy of an SDK ``tracer`` whose root spans get ``trace_id``; else ``tracer``.

    Used for feedback on a trace whose root span is unknown: the feedback span is a
    parentless span of that same trace rather than the child of an invented parent.
    """
    delegate = getattr(tracer, "id_generator", None)
    if not isinstance(delegate, IdGenerator):
        return tracer
    pinned: Any = copy.copy(tracer)
    pinned.id_generator = _FixedTraceId(trace_id, delegate)
    return cast(trace.Tracer, pinned)


# -- zero-code setup -------------------------------------------------------------------------


def sdk_configurator_base() -> type:
    """The SDK's own configurator class, which distros subclass (it is private in the SDK).

    ``opentelemetry-instrument`` instantiates the class named by ``OTEL_PYTHON_CONFIGURATOR``
    and calls ``configure(**kwargs)``; the SDK's ``_configure`` builds the providers from the
    ``OTEL_*`` variables and accepts extra ``span_processors``.
    """
    from opentelemetry.sdk._configuration import _OTelSDKConfigurator  # noqa: PLC0415

    return _OTelSDKConfigurator
