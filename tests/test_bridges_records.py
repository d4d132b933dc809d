"""Reading feedback records back from spans: the rated span, the fields, the value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_feedback as fb
from otel_feedback.bridges.records import (
    FeedbackRecord,
    records_from_spans,
    records_from_stored_span,
)


@pytest.fixture
def pipeline() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    provider = TracerProvider()
    provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=provider))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield provider, memory
    provider.shutdown()


def _ids(span: object) -> tuple[str, str]:
    context = span.get_span_context()  # type: ignore[attr-defined]
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def test_live_late_and_trace_level_records(
    pipeline: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = pipeline
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("chat") as chat:
        fb.log_feedback("rating", 5, reason="great", source_id="web_ui")
        token = fb.current_feedback_token()
    fb.log_feedback("thumbs_up", False, target=token, source="LLM_JUDGE", label="bad")
    fb.log_feedback(
        "ground_truth", {"city": "Paris", "tags": ["a", "b"]}, target=token, source="HUMAN"
    )
    unknown_trace = "0af7651916cd43dd8448eb211c80319c"
    fb.log_feedback("coherence", 0.5, trace_id=unknown_trace, tracer_provider=provider)
    trace_id, chat_id = _ids(chat)

    records = {r.name: r for r in records_from_spans(memory.get_finished_spans())}
    assert sorted(records) == ["coherence", "ground_truth", "rating", "thumbs_up"]
    rating = records["rating"]
    assert (rating.trace_id, rating.span_id) == (trace_id, chat_id)
    assert rating.score == 5.0
    assert rating.value == 5
    assert rating.explanation == "great"
    assert rating.source_type == "HUMAN"
    assert rating.source_id == "web_ui"
    assert rating.annotator_kind == "HUMAN"
    assert rating.kind == "explicit"
    assert rating.timestamp is not None
    assert len(rating.feedback_id) == 32

    thumbs = records["thumbs_up"]  # late: carried by a `feedback` span, rates its parent
    assert (thumbs.trace_id, thumbs.span_id) == (trace_id, chat_id)
    assert (thumbs.score, thumbs.label, thumbs.value) == (0.0, "bad", False)
    assert thumbs.annotator_kind == "LLM"

    truth = records["ground_truth"]
    assert truth.is_ground_truth
    assert truth.value == {"city": "Paris", "tags": ["a", "b"]}
    assert truth.score is None

    coherence = records["coherence"]  # root unknown: the trace as a whole
    assert (coherence.trace_id, coherence.span_id) == (unknown_trace, None)


def test_a_users_own_span_named_feedback_rates_itself(
    pipeline: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = pipeline
    tracer = provider.get_tracer("my-app")
    with tracer.start_as_current_span("parent"), tracer.start_as_current_span("feedback") as own:
        fb.log_feedback("rating", 3)
    [record] = records_from_spans(memory.get_finished_spans())
    assert record.span_id == _ids(own)[1]


def test_stored_spans_in_phoenix_shape() -> None:
    event = {
        "name": "gen_ai.evaluation.result",
        "attributes": {
            "gen_ai.evaluation.name": "thumbs_up",
            "gen_ai.evaluation.score.value": 1.0,
            "gen_ai.evaluation.score.label": "true",
            "feedback.id": "f" * 32,
            "feedback.value": True,
            "feedback.metadata.page": "home",
        },
    }
    late = {
        "name": "feedback",
        "context": {"trace_id": "a" * 32, "span_id": "b" * 16},
        "parent_id": "c" * 16,
        "events": [event, {"name": "exception", "attributes": {}}],
    }
    [record] = records_from_stored_span(late)
    assert record == FeedbackRecord(
        feedback_id="f" * 32,
        name="thumbs_up",
        trace_id="a" * 32,
        span_id="c" * 16,
        score=1.0,
        label="true",
        value=True,
        metadata={"page": "home"},
    )
    rated = {**late, "name": "chat", "parent_id": None}
    assert records_from_stored_span(rated)[0].span_id == "b" * 16


@pytest.mark.parametrize(
    "span",
    [
        {},
        {"context": {"trace_id": 1, "span_id": "b" * 16}},
        {"context": {"trace_id": "a" * 32, "span_id": "b" * 16}, "events": ["junk", None]},
        {
            "context": {"trace_id": "a" * 32, "span_id": "b" * 16},
            "events": [{"name": "gen_ai.evaluation.result", "attributes": {"feedback.id": "x"}}],
        },
    ],
)
def test_stored_spans_without_a_usable_record_give_none(span: dict[str, object]) -> None:
    assert records_from_stored_span(span) == []
