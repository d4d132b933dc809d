"""HoneyHive's documented snippets on otel_feedback.compat.honeyhive.

``from honeyhive import ...`` became ``from otel_feedback.compat.honeyhive import ...``;
everything else is HoneyHive code. Assertions are on the OTLP wire data.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator

import pytest
from helpers_wire import Wire, feedback_spans
from opentelemetry import trace as otel_trace

import otel_feedback as fb
from otel_feedback.compat.honeyhive import (
    HoneyHiveTracer,
    atrace,
    enrich_session,
    enrich_span,
    trace,
)
from otel_feedback.compat.honeyhive.models import EventType


@pytest.fixture(autouse=True)
def no_default_session() -> Iterator[None]:
    """Each test starts without a HoneyHive session (``init`` sets a process-wide one)."""
    HoneyHiveTracer._default = HoneyHiveTracer.session_id = None
    yield
    HoneyHiveTracer._default = HoneyHiveTracer.session_id = None


def test_enrich_traces_overview_snippets(global_wire: Wire) -> None:
    # docs: tracing/enrich-traces ("How to Enrich", "Invocation Patterns")
    tracer = HoneyHiveTracer.init(api_key=os.getenv("HH_API_KEY"), project=os.getenv("HH_PROJECT"))

    @trace
    def handle(message: str) -> str:
        enrich_span({"user_id": "user_12345", "feature": "chat"})
        enrich_span(user_id="user_67890", intent="question")
        enrich_span(
            metadata={"request_id": "r-1"},
            metrics={"confidence": 0.9},
            feedback={"thumbs_up": True},
            config={"model": "gpt-4o"},
            user_properties={"tier": "premium"},
        )
        tracer.enrich_span(outputs={"draft": "hello"})
        return "hello"

    handle("hi")
    span = global_wire.one("handle")
    assert span.attributes["session.id"] == tracer.session_id
    assert span.attributes["metadata.user_id"] == "user_67890"  # a later call replaces
    assert span.attributes["metadata.feature"] == "chat"  # and keeps the rest
    assert span.attributes["metadata.intent"] == "question"
    assert span.attributes["metadata.request_id"] == "r-1"
    assert span.attributes["metrics.confidence"] == 0.9
    assert span.attributes["feedback.thumbs_up"] is True
    assert span.attributes["config.model"] == "gpt-4o"
    assert span.attributes["user_properties.tier"] == "premium"
    assert span.attributes["output.value"] == "hello"  # the result, captured at the end


def test_user_feedback_snippets(global_wire: Wire) -> None:
    # docs: tracing/setting-user-feedback ("On a Span", "On the Session")
    tracer = HoneyHiveTracer.init(api_key=os.getenv("HH_API_KEY"), project=os.getenv("HH_PROJECT"))

    @trace
    def generate_response(query: str, user_id: str) -> str:
        response = "The capital of New York is New York City"
        # Capture feedback on this specific span
        tracer.enrich_span(
            feedback={
                "rating": True,
                "comment": "The model hallucinated the capital",
                "user_id": user_id,
                "ground_truth": "The capital of New York is Albany",
            }
        )
        return response

    generate_response("capital of New York?", "user-1")
    # Capture feedback on the entire trace
    tracer.enrich_session(
        feedback={
            "rating": True,  # boolean: thumbs up/down
            "comment": "The response was helpful",
            "ground_truth": "Expected answer here",  # optional
        }
    )
    spans = global_wire.wait(2)
    span = global_wire.receiver.span_by_name("generate_response")
    assert span.attributes["feedback.rating"] is True
    assert span.attributes["feedback.user_id"] == "user-1"
    assert span.attributes["feedback.ground_truth"] == "The capital of New York is Albany"
    [session] = feedback_spans(spans)
    assert session.attributes["session.id"] == span.attributes["session.id"]
    assert session.attributes["session.id"] == HoneyHiveTracer.session_id == tracer.session_id
    assert session.attributes["feedback.comment"] == "The response was helpful"
    assert session.attributes["feedback.ground_truth"] == "Expected answer here"


def test_enrich_session_outside_a_trace_is_a_session_record(global_wire: Wire) -> None:
    tracer = HoneyHiveTracer.init(api_key="unused", project="my-app")
    tracer.enrich_session(
        {"tenant_id": "acme_corp", "user_tier": "premium", "app_version": "2.1.0"}
    )
    tracer.enrich_session(session_id="sess_abc123", metadata={"completed": True})
    spans = global_wire.wait(2)
    own, other = sorted(
        feedback_spans(spans), key=lambda span: span.attributes["session.id"] == "sess_abc123"
    )
    assert own.attributes["session.id"] == tracer.session_id
    assert own.attributes["metadata.tenant_id"] == "acme_corp"
    assert other.attributes["session.id"] == "sess_abc123"
    assert other.attributes["metadata.completed"] is True
    for record in (own, other):
        assert record.parent_span_id is None
        assert record.duration_ns == 0


def test_enrich_session_inside_a_trace_writes_the_root(global_wire: Wire) -> None:
    HoneyHiveTracer.init(project="support", session_name="chat-1", session_id="s-42")

    @trace(event_type="tool")
    def retrieve(query: str) -> list[str]:
        enrich_session(
            feedback={"rating": 5, "comment": "great"},
            metrics={"turns": 1},
            config={"prompt": "v2"},
            inputs={"channel": "web"},
            user_properties={"plan": "pro"},
        )
        return ["doc"]

    @trace(event_name="session-root", metadata={"source": "test"})
    def root(query: str) -> int:
        docs = retrieve(query)
        enrich_session(feedback={"resolved": True})  # updates, never overwrites
        return len(docs)

    root("q")
    spans = global_wire.wait(2)
    top = global_wire.receiver.span_by_name("session-root")
    step = global_wire.receiver.span_by_name("retrieve")
    assert step.parent_span_id == top.span_id
    assert {span.attributes["session.id"] for span in spans} == {"s-42"}
    assert top.attributes["feedback.rating"] == 5
    assert top.attributes["feedback.resolved"] is True
    assert top.attributes["metrics.turns"] == 1
    assert top.attributes["config.prompt"] == "v2"
    assert top.attributes["user_properties.plan"] == "pro"
    assert top.attributes["metadata.source"] == "test"
    assert json.loads(top.attributes["input.value"]) == {"query": "q", "channel": "web"}
    assert step.attributes["openinference.span.kind"] == "TOOL"
    assert "feedback.rating" not in step.attributes


def test_enrich_session_on_a_root_started_elsewhere(global_wire: Wire) -> None:
    HoneyHiveTracer.init(project="p")
    with global_wire.tracer.start_as_current_span("server"):

        @trace
        def step() -> None:
            enrich_session(feedback={"liked": True})

        step()
    server = global_wire.one("server")
    assert server.attributes["feedback.liked"] is True


def test_async_trace_and_error(global_wire: Wire) -> None:
    HoneyHiveTracer.init(project="p")

    @atrace(event_type="model")
    async def generate(prompt: str) -> str:
        enrich_span(error="rate limited", metrics={"retries": 3})
        return "partial"

    assert asyncio.run(generate("p")) == "partial"
    span = global_wire.one("generate")
    assert span.status_code == 2
    assert span.status_message == "rate limited"
    assert span.attributes["openinference.span.kind"] == "LLM"
    assert span.attributes["metrics.retries"] == 3


def test_without_a_span_or_session_it_is_reported(global_wire: Wire) -> None:
    enrich_span(metadata={"a": 1})
    enrich_session(metadata={"a": 1})
    counts = fb.diagnostics()
    assert counts["no_target"] == 2


def test_init_keeps_an_application_provider(global_wire: Wire) -> None:
    before = otel_trace.get_tracer_provider()
    tracer = HoneyHiveTracer.init(api_key="k", project="p", session_name="n")
    assert otel_trace.get_tracer_provider() is before
    assert tracer.session_name == "n"
    assert len(tracer.session_id) == 36
    assert HoneyHiveTracer.flush() is True


def test_explicit_tracer_event_type_enum_and_start_span(global_wire: Wire) -> None:
    # docs: python-sdk how-to/advanced-tracing/tracer-auto-discovery
    tracer = HoneyHiveTracer(api_key="...", project="...", session_id="multi-1")

    @trace(tracer=tracer, event_type=EventType.tool)
    def process_data(data: str) -> str:
        return f"processed: {data}"

    with tracer.start_span("operation") as span:
        span.set_attribute("key", "value")
        process_data("x")
    operation, step = global_wire.one("operation"), global_wire.one("process_data")
    assert step.parent_span_id == operation.span_id
    assert operation.attributes["key"] == "value"
    assert operation.attributes["session.id"] == step.attributes["session.id"] == "multi-1"
    assert step.attributes["openinference.span.kind"] == "TOOL"
    assert HoneyHiveTracer.session_id == "multi-1", "the first tracer is the default"
