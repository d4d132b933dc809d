"""Plumbing proof, no otel_feedback code: OTel SDK -> OTLP -> Phoenix -> REST read-back.

Exports a root span (dotted feedback-like attributes, a tuple attribute, ``session.id``),
an event with attributes and a child span, over OTLP/gRPC and over OTLP/HTTP (protobuf),
then reads them back through Phoenix's REST API.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from phoenix_backend import PhoenixServer

pytestmark = pytest.mark.e2e


def _otlp_exporter(phoenix: PhoenixServer, protocol: str) -> SpanExporter:
    if protocol == "grpc":
        return GrpcSpanExporter(endpoint=phoenix.otlp_grpc_endpoint, insecure=True, timeout=10)
    return HttpSpanExporter(endpoint=phoenix.otlp_http_endpoint, timeout=10)


def _record_trace(session_id: str) -> tuple[ReadableSpan, ReadableSpan]:
    """Record root + child span in memory (no network yet); return (root, child)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "otel-feedback-e2e"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("otel-feedback-e2e-smoke")
    with tracer.start_as_current_span("chat") as root:
        root.set_attributes(
            {
                "session.id": session_id,
                "user.id": "u-42",
                "feedback.step1.retry": True,
                "feedback.rating": 5,
                "feedback.score": 0.75,
                "feedback.comment": "short and right",
                "feedback.tags": ("concise", "helpful"),
            }
        )
        root.add_event(
            "gen_ai.evaluation.result",
            {
                "gen_ai.evaluation.name": "user_rating",
                "gen_ai.evaluation.score.value": 4.0,
                "feedback.source.type": "HUMAN",
                "feedback.value.nested.deep": 1,
                "feedback.labels": ("a", "b"),
            },
        )
        with tracer.start_as_current_span("llm") as child:
            child.set_attributes({"session.id": session_id, "metrics.latency_ms": 12})
    provider.shutdown()
    finished = {span.name: span for span in memory.get_finished_spans()}
    return finished["chat"], finished["llm"]


def _wait_for_session(phoenix: PhoenixServer, session_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while (session := phoenix.session(session_id)) is None:
        assert time.monotonic() < deadline, f"session {session_id!r} never appeared"
        time.sleep(0.2)
    return session


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_spans_round_trip_through_phoenix(phoenix: PhoenixServer, protocol: str) -> None:
    session_id = f"e2e-{protocol}-{uuid.uuid4().hex[:8]}"
    root, child = _record_trace(session_id)
    exporter = _otlp_exporter(phoenix, protocol)
    try:
        assert exporter.export([child, root]) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()

    assert root.context is not None
    assert child.context is not None
    trace_id = format(root.context.trace_id, "032x")
    root_id = format(root.context.span_id, "016x")
    child_id = format(child.context.span_id, "016x")

    spans = phoenix.wait_for_spans(trace_id=trace_id, count=2, timeout=30)
    by_name = {span["name"]: span for span in spans}
    assert sorted(by_name) == ["chat", "llm"]
    chat, llm = by_name["chat"], by_name["llm"]

    assert chat["context"] == {"trace_id": trace_id, "span_id": root_id}
    assert chat["parent_id"] is None
    assert llm["context"] == {"trace_id": trace_id, "span_id": child_id}
    assert llm["parent_id"] == root_id

    # Attributes come back as a flat dotted-key mapping with JSON types; tuples as lists.
    assert chat["attributes"] == {
        "session.id": session_id,
        "user.id": "u-42",
        "feedback.step1.retry": True,
        "feedback.rating": 5,
        "feedback.score": 0.75,
        "feedback.comment": "short and right",
        "feedback.tags": ["concise", "helpful"],
    }
    assert llm["attributes"] == {"session.id": session_id, "metrics.latency_ms": 12}
    assert isinstance(chat["attributes"]["feedback.rating"], int)

    assert len(chat["events"]) == 1
    event = chat["events"][0]
    assert event["name"] == "gen_ai.evaluation.result"
    assert event["attributes"] == {
        "gen_ai.evaluation.name": "user_rating",
        "gen_ai.evaluation.score.value": 4.0,
        "feedback.source.type": "HUMAN",
        "feedback.value.nested.deep": 1,
        "feedback.labels": ["a", "b"],
    }
    assert llm["events"] == []

    # Phoenix groups traces into sessions by the session.id span attribute.
    session = _wait_for_session(phoenix, session_id)
    assert [t["trace_id"] for t in session["traces"]] == [trace_id]
    assert session_id in {s["session_id"] for s in phoenix.sessions()}
    (trace,) = phoenix.traces(session_id=session_id)
    assert trace["trace_id"] == trace_id
    assert sorted(span["name"] for span in trace["spans"]) == ["chat", "llm"]


def test_wait_for_spans_times_out_with_a_clear_message(phoenix: PhoenixServer) -> None:
    missing = uuid.uuid4().hex
    with pytest.raises(TimeoutError, match=f"trace_id={missing}.*got 0: none"):
        phoenix.wait_for_spans(trace_id=missing, timeout=0.5)
