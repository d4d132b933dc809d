"""Write flattened feedback onto an open SDK span — the one module that touches SDK internals.

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

import threading
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, Span, SpanLimits
from opentelemetry.util.types import AttributeValue

from otel_feedback._diagnostics import logger

Attributes = dict[str, AttributeValue]

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
    fast: bool | None = None,
) -> Attributes | None:
    """Write ``attributes`` (and an event) onto an open span without evicting any attribute.

    Returns the attributes that did not fit (usually ``{}``), or ``None`` when the span had
    already ended and nothing was written. ``fast`` forces a path (for tests).
    """
    use_fast = supports_fast_path(span) if fast is None else fast
    if use_fast:
        return _write_direct(span, attributes, event)
    return _write_public(span, attributes, event)


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
    span: Span, attributes: Attributes, event: tuple[str, Attributes] | None
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
            free = maxlen - len(stored) if maxlen is not None else len(attributes)
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
            limits = span_any._limits
            event_attributes = BoundedAttributes(
                limits.max_event_attributes,
                event[1],
                max_value_len=limits.max_attribute_length,
                immutable=True,
            )
            span_any._events.append(Event(event[0], event_attributes))
    return overflow


def _write_public(
    span: Span, attributes: Attributes, event: tuple[str, Attributes] | None
) -> Attributes | None:
    if span.end_time is not None or not span.is_recording():
        return None
    existing = span.attributes or {}
    limit = _limits().max_span_attributes
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
        span.add_event(event[0], event[1])
    return overflow


def _limits() -> SpanLimits:
    global _default_limits
    if _default_limits is None:
        _default_limits = SpanLimits()
    return _default_limits
