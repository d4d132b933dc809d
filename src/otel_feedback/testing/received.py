"""What an :class:`~otel_feedback.testing.OTLPReceiver` hands back: plain frozen dataclasses.

Export requests are decoded with protobuf's own JSON mapping (``json_format.MessageToDict``,
the proto3 JSON form OTLP/JSON uses), then turned into Python values: ids as lowercase hex,
times as ints, attribute values as ``str``/``bool``/``int``/``float``/``bytes``, arrays as
tuples and key-value lists as dicts.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

from google.protobuf import json_format  # type: ignore[import-untyped]
from google.protobuf.message import Message  # type: ignore[import-untyped]

OTLPProtocol = Literal["grpc", "http"]
"""The transport that delivered an export: ``"grpc"`` or ``"http"`` (protobuf)."""

Signal = Literal["traces", "logs", "metrics"]
"""The OTLP signal of an export request."""


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """A span event as received."""

    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReceivedLink:
    """A span link as received; ids are lowercase hex."""

    trace_id: str
    span_id: str
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReceivedSpan:
    """A span as received, with ids as lowercase hex and attributes decoded to Python.

    ``kind`` is the OTLP ``SpanKind`` number, which is the API's ``SpanKind.value + 1``
    (``1`` internal, ``2`` server, ``3`` client, ``4`` producer, ``5`` consumer).
    ``status_code`` is ``0`` unset, ``1`` ok, ``2`` error.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    start_time_unix_nano: int
    end_time_unix_nano: int
    attributes: dict[str, Any]
    events: list[ReceivedEvent]
    links: list[ReceivedLink]
    status_code: int
    status_message: str
    dropped_attributes_count: int
    dropped_events_count: int
    dropped_links_count: int
    resource_attributes: dict[str, Any]
    scope_name: str
    scope_version: str
    protocol: OTLPProtocol

    @property
    def duration_ns(self) -> int:
        """End minus start time, in nanoseconds."""
        return self.end_time_unix_nano - self.start_time_unix_nano

    def events_named(self, name: str) -> list[ReceivedEvent]:
        """The span's events called ``name``, in order."""
        return [event for event in self.events if event.name == name]


@dataclass(frozen=True, slots=True)
class ReceivedLogRecord:
    """A log record as received; ``trace_id``/``span_id`` are hex or ``None`` when unset."""

    event_name: str
    body: Any
    attributes: dict[str, Any]
    trace_id: str | None
    span_id: str | None
    time_unix_nano: int
    observed_time_unix_nano: int
    severity_number: int
    severity_text: str
    resource_attributes: dict[str, Any]
    scope_name: str
    protocol: OTLPProtocol


@dataclass(frozen=True, slots=True)
class ReceivedMetricPoint:
    """One data point of a received metric, with its metric's name, unit and kind.

    ``kind`` is the OTLP data field: ``sum`` and ``gauge`` points hold ``value``;
    ``histogram`` points hold ``count``, ``sum``, ``min``, ``max``, ``bucket_counts`` and
    ``explicit_bounds``; ``exponential_histogram`` and ``summary`` points ``count`` and
    ``sum`` only. ``temporality`` is OTLP's (``1`` delta, ``2`` cumulative, ``0`` none).
    """

    name: str
    unit: str
    kind: str
    attributes: dict[str, Any]
    value: float | None
    count: int
    sum: float | None
    min: float | None
    max: float | None
    bucket_counts: tuple[int, ...]
    explicit_bounds: tuple[float, ...]
    temporality: int
    time_unix_nano: int
    resource_attributes: dict[str, Any]
    scope_name: str
    protocol: OTLPProtocol


def _as_dict(message: Message) -> dict[str, Any]:
    return dict(
        json_format.MessageToDict(
            message, preserving_proto_field_name=True, use_integers_for_enums=True
        )
    )


def _value(value: dict[str, Any]) -> Any:
    """An ``AnyValue`` in its JSON form as a Python value (int64 arrives as a string)."""
    if not value:
        return None
    (kind, item), *_ = value.items()
    if kind == "int_value":
        return int(item)
    if kind == "bytes_value":
        return base64.b64decode(item)
    if kind == "array_value":
        return tuple(_value(entry) for entry in item.get("values", ()))
    if kind == "kvlist_value":
        return _attributes(item.get("values", ()))
    if kind in ("string_value", "bool_value", "double_value"):
        return float(item) if kind == "double_value" else item
    raise ValueError(f"unsupported AnyValue field {kind!r} (only used by the profiles signal)")


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair["key"]: _value(pair.get("value", {})) for pair in pairs}


def _hex(raw: str | None) -> str | None:
    """An id in its JSON form (base64) as hex; ``None`` when absent or all zero."""
    data = base64.b64decode(raw) if raw else b""
    return data.hex() if data.strip(b"\0") else None


def decode_spans(request: Message, protocol: OTLPProtocol) -> list[ReceivedSpan]:
    """Every span of an ``ExportTraceServiceRequest``."""
    spans: list[ReceivedSpan] = []
    for resource_spans in _as_dict(request).get("resource_spans", ()):
        resource = _attributes(resource_spans.get("resource", {}).get("attributes", ()))
        for scope_spans in resource_spans.get("scope_spans", ()):
            scope = scope_spans.get("scope", {})
            spans.extend(
                _span(span, resource, scope, protocol) for span in scope_spans.get("spans", ())
            )
    return spans


def _span(
    span: dict[str, Any], resource: dict[str, Any], scope: dict[str, Any], protocol: OTLPProtocol
) -> ReceivedSpan:
    status = span.get("status", {})
    return ReceivedSpan(
        trace_id=_hex(span.get("trace_id")) or "",
        span_id=_hex(span.get("span_id")) or "",
        parent_span_id=_hex(span.get("parent_span_id")),
        name=span.get("name", ""),
        kind=int(span.get("kind", 0)),
        start_time_unix_nano=int(span.get("start_time_unix_nano", 0)),
        end_time_unix_nano=int(span.get("end_time_unix_nano", 0)),
        attributes=_attributes(span.get("attributes", ())),
        events=[
            ReceivedEvent(
                name=event.get("name", ""),
                time_unix_nano=int(event.get("time_unix_nano", 0)),
                attributes=_attributes(event.get("attributes", ())),
            )
            for event in span.get("events", ())
        ],
        links=[
            ReceivedLink(
                trace_id=_hex(link.get("trace_id")) or "",
                span_id=_hex(link.get("span_id")) or "",
                attributes=_attributes(link.get("attributes", ())),
            )
            for link in span.get("links", ())
        ],
        status_code=int(status.get("code", 0)),
        status_message=status.get("message", ""),
        dropped_attributes_count=int(span.get("dropped_attributes_count", 0)),
        dropped_events_count=int(span.get("dropped_events_count", 0)),
        dropped_links_count=int(span.get("dropped_links_count", 0)),
        resource_attributes=dict(resource),
        scope_name=scope.get("name", ""),
        scope_version=scope.get("version", ""),
        protocol=protocol,
    )


def decode_logs(request: Message, protocol: OTLPProtocol) -> list[ReceivedLogRecord]:
    """Every log record of an ``ExportLogsServiceRequest``."""
    records: list[ReceivedLogRecord] = []
    for resource_logs in _as_dict(request).get("resource_logs", ()):
        resource = _attributes(resource_logs.get("resource", {}).get("attributes", ()))
        for scope_logs in resource_logs.get("scope_logs", ()):
            scope_name = scope_logs.get("scope", {}).get("name", "")
            records.extend(
                ReceivedLogRecord(
                    event_name=record.get("event_name", ""),
                    body=_value(record.get("body", {})),
                    attributes=_attributes(record.get("attributes", ())),
                    trace_id=_hex(record.get("trace_id")),
                    span_id=_hex(record.get("span_id")),
                    time_unix_nano=int(record.get("time_unix_nano", 0)),
                    observed_time_unix_nano=int(record.get("observed_time_unix_nano", 0)),
                    severity_number=int(record.get("severity_number", 0)),
                    severity_text=record.get("severity_text", ""),
                    resource_attributes=dict(resource),
                    scope_name=scope_name,
                    protocol=protocol,
                )
                for record in scope_logs.get("log_records", ())
            )
    return records


_METRIC_KINDS = ("sum", "gauge", "histogram", "exponential_histogram", "summary")


def decode_metrics(request: Message, protocol: OTLPProtocol) -> list[ReceivedMetricPoint]:
    """Every data point of an ``ExportMetricsServiceRequest``."""
    points: list[ReceivedMetricPoint] = []
    for resource_metrics in _as_dict(request).get("resource_metrics", ()):
        resource = _attributes(resource_metrics.get("resource", {}).get("attributes", ()))
        for scope_metrics in resource_metrics.get("scope_metrics", ()):
            scope_name = scope_metrics.get("scope", {}).get("name", "")
            for metric in scope_metrics.get("metrics", ()):
                kind = next((name for name in _METRIC_KINDS if name in metric), None)
                if kind is None:
                    raise ValueError(f"metric {metric.get('name')!r} has no data")
                data = metric[kind]
                points.extend(
                    _metric_point(metric, kind, data, point, resource, scope_name, protocol)
                    for point in data.get("data_points", ())
                )
    return points


def _metric_point(
    metric: dict[str, Any],
    kind: str,
    data: dict[str, Any],
    point: dict[str, Any],
    resource: dict[str, Any],
    scope_name: str,
    protocol: OTLPProtocol,
) -> ReceivedMetricPoint:
    number = kind in ("sum", "gauge")
    value = point.get("as_double", point.get("as_int", 0)) if number else None
    return ReceivedMetricPoint(
        name=metric.get("name", ""),
        unit=metric.get("unit", ""),
        kind=kind,
        attributes=_attributes(point.get("attributes", ())),
        value=float(value) if value is not None else None,
        count=0 if number else int(point.get("count", 0)),
        sum=None if number else float(point.get("sum", 0.0)),
        min=float(point["min"]) if "min" in point else None,
        max=float(point["max"]) if "max" in point else None,
        bucket_counts=tuple(int(count) for count in point.get("bucket_counts", ())),
        explicit_bounds=tuple(float(bound) for bound in point.get("explicit_bounds", ())),
        temporality=int(data.get("aggregation_temporality", 0)),
        time_unix_nano=int(point.get("time_unix_nano", 0)),
        resource_attributes=dict(resource),
        scope_name=scope_name,
        protocol=protocol,
    )


def describe_metric(point: ReceivedMetricPoint) -> str:
    """One line naming a metric data point, for timeout messages."""
    return f"{point.name!r} ({point.kind}) {point.attributes} via {point.protocol}"


def describe_span(span: ReceivedSpan) -> str:
    """One line naming a span, for timeout messages."""
    return f"{span.name!r} trace={span.trace_id} span={span.span_id} via {span.protocol}"


def describe_log(record: ReceivedLogRecord) -> str:
    """One line naming a log record, for timeout messages."""
    body = repr(record.body)
    if len(body) > 60:
        body = body[:57] + "..."
    return f"event_name={record.event_name!r} body={body} via {record.protocol}"
