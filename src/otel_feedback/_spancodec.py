"""Finished spans to bytes and back, so the outbox can store them and resend them unchanged.

A stored span keeps everything an exporter sends: name, kind, trace and span ids, flags and
trace state, parent, links, start and end times, attributes, events, status, resource and
instrumentation scope. Decoding gives back public SDK ``ReadableSpan`` objects with the
same ids, so a resend is a duplicate of the first send, never a new span.

The format is compact JSON (UTF-8). Attribute values are what OpenTelemetry allows: ``str``,
``bool``, ``int``, ``float`` and homogeneous sequences of them; JSON keeps ``int`` and
``float`` apart, and sequences come back as tuples.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

FORMAT = 1
"""Version of the encoding; stored with each record."""


def encode(spans: Sequence[ReadableSpan]) -> bytes:
    """``spans`` as compact JSON bytes."""
    return json.dumps(
        {"v": FORMAT, "spans": [_span(span) for span in spans]},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


def decode(data: bytes, resources: dict[str, Resource] | None = None) -> list[ReadableSpan]:
    """The spans :func:`encode` stored. ``resources`` caches Resource objects across calls
    (so the spans of one batch share them). Raises ``ValueError`` on data it cannot read."""
    try:
        document = json.loads(data)
        if document.get("v") != FORMAT:
            raise ValueError(f"unknown stored span format {document.get('v')!r}")
        cache = resources if resources is not None else {}
        return [_readable(item, cache) for item in document["spans"]]
    except (KeyError, TypeError, AttributeError, IndexError) as error:
        raise ValueError(f"unreadable stored span: {error!r}") from error


# -- encoding ---------------------------------------------------------------------------------


def _context(context: SpanContext | None) -> list[Any] | None:
    if context is None:
        return None
    state = context.trace_state.to_header() if context.trace_state else ""
    return [
        f"{context.trace_id:032x}",
        f"{context.span_id:016x}",
        int(context.trace_flags),
        state,
        bool(context.is_remote),
    ]


def _attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(attributes) if attributes else {}


def _span(span: ReadableSpan) -> dict[str, Any]:
    resource = span.resource
    scope = span.instrumentation_scope
    return {
        "name": span.name,
        "kind": span.kind.value,
        "context": _context(span.context),
        "parent": _context(span.parent),
        "start": span.start_time,
        "end": span.end_time,
        "attributes": _attributes(span.attributes),
        "events": [
            [event.name, event.timestamp, _attributes(event.attributes)] for event in span.events
        ],
        "links": [[_context(link.context), _attributes(link.attributes)] for link in span.links],
        "status": [span.status.status_code.value, span.status.description],
        "resource": [_attributes(resource.attributes), resource.schema_url],
        "scope": (
            [scope.name, scope.version, scope.schema_url, _attributes(scope.attributes)]
            if scope is not None
            else None
        ),
    }


# -- decoding ---------------------------------------------------------------------------------


def _values(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in attributes.items()
    }


def _span_context(fields: Sequence[Any] | None) -> SpanContext | None:
    if fields is None:
        return None
    trace_id, span_id, flags, state, remote = fields
    return SpanContext(
        int(trace_id, 16),
        int(span_id, 16),
        is_remote=bool(remote),
        trace_flags=TraceFlags(int(flags)),
        trace_state=TraceState.from_header([state]) if state else None,
    )


def _resource(fields: Sequence[Any], cache: dict[str, Resource]) -> Resource:
    key = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    found = cache.get(key)
    if found is None:
        attributes, schema_url = fields
        found = cache[key] = Resource(_values(attributes), schema_url or None)
    return found


def _events(items: Iterable[Sequence[Any]]) -> list[Event]:
    return [Event(name, _values(attributes), timestamp) for name, timestamp, attributes in items]


def _readable(item: Mapping[str, Any], resources: dict[str, Resource]) -> ReadableSpan:
    status_code, description = item["status"]
    scope_fields = item["scope"]
    scope = (
        InstrumentationScope(
            scope_fields[0], scope_fields[1], scope_fields[2], _values(scope_fields[3])
        )
        if scope_fields is not None
        else None
    )
    return ReadableSpan(
        name=item["name"],
        context=_span_context(item["context"]),
        parent=_span_context(item["parent"]),
        resource=_resource(item["resource"], resources),
        attributes=_values(item["attributes"]),
        events=_events(item["events"]),
        links=[
            Link(context, _values(attributes))
            for context, attributes in (
                (_span_context(fields), attributes) for fields, attributes in item["links"]
            )
            if context is not None
        ],
        kind=SpanKind(item["kind"]),
        status=Status(StatusCode(status_code), description),
        start_time=item["start"],
        end_time=item["end"],
        instrumentation_scope=scope,
    )
