"""Stored spans come back exactly as they were built (the outbox resends them unchanged)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

import otel_feedback as fb
from otel_feedback import _spancodec


def _fields(span: ReadableSpan) -> tuple[object, ...]:
    return (
        span.name,
        span.kind,
        span.context,
        span.context.trace_state.to_header(),
        span.parent,
        span.start_time,
        span.end_time,
        dict(span.attributes or {}),
        [(event.name, event.timestamp, dict(event.attributes or {})) for event in span.events],
        [(link.context, dict(link.attributes or {})) for link in span.links],
        (span.status.status_code, span.status.description),
        dict(span.resource.attributes),
        span.resource.schema_url,
        span.instrumentation_scope,
    )


def test_every_field_survives_a_round_trip() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "svc", "n": 3}, "https://s"))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    parent = SpanContext(
        0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1),
        trace_state=TraceState([("vendor", "v1")]),
    )
    tracer = provider.get_tracer("scope", "1.2", schema_url="https://scope")
    from opentelemetry import trace  # noqa: PLC0415

    span = tracer.start_span(
        "feedback",
        context=trace.set_span_in_context(trace.NonRecordingSpan(parent)),
        kind=SpanKind.CLIENT,
        links=[Link(parent, {"why": "rated"})],
        start_time=1_000,
        attributes={
            "s": "é ☃", "b": True, "i": -(2**63), "f": 0.1, "big": 2**63 - 1,
            "strs": ("a", "b"), "ints": (1, 2), "floats": (1.5,), "bools": (True, False),
            "empty": (),
        },
    )
    span.add_event("gen_ai.evaluation.result", {"feedback.id": "x" * 32, "v": 1.0}, 1_000)
    span.set_status(Status(StatusCode.ERROR, "bad"))
    span.end(end_time=1_000)
    [built] = exporter.get_finished_spans()
    [again] = _spancodec.decode(_spancodec.encode([built]))
    assert _fields(again) == _fields(built)
    assert type(again.attributes["f"]) is float
    assert type(again.attributes["big"]) is int
    provider.shutdown()


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b'{"v": 99, "spans": []}', b'{"v": 1}'])
def test_unreadable_data_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the type is the contract
        _spancodec.decode(data)


def test_outbox_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_OUTBOX", " /tmp/x.sqlite ")
    monkeypatch.setenv("OTEL_FEEDBACK_OUTBOX_MAX_RECORDS", "10")
    monkeypatch.setenv("OTEL_FEEDBACK_OUTBOX_MAX_BYTES", "2048")
    monkeypatch.setenv("OTEL_FEEDBACK_OUTBOX_SYNC", "FULL")
    settings = fb.reload_settings()
    assert (settings.outbox_path, settings.outbox_max_records) == ("/tmp/x.sqlite", 10)
    assert (settings.outbox_max_bytes, settings.outbox_sync) == (2048, "full")
    monkeypatch.setenv("OTEL_FEEDBACK_OUTBOX_MAX_RECORDS", "0")
    monkeypatch.setenv("OTEL_FEEDBACK_OUTBOX_SYNC", "sometimes")
    settings = fb.reload_settings()
    assert (settings.outbox_max_records, settings.outbox_sync) == (100_000, "normal")
