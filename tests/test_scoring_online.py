"""Online scoring end to end: spans -> OnlineScorer -> late feedback -> OTLP receiver."""

from __future__ import annotations

import json
import threading
import time

import pytest
from helpers_judge import JudgeServer
from helpers_wire import Wire, WireFactory, assert_late_feedback_span, feedback_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, TraceFlags

import otel_feedback as fb
from otel_feedback.scoring import (
    AnswerRelevance,
    Contains,
    Equals,
    Hallucination,
    IsJson,
    Levenshtein,
    OnlineScorer,
    Perplexity,
    Scorer,
    ScorerConfigError,
    fields_of,
)
from otel_feedback.testing import OTLPReceiver, ReceivedSpan

EVENT = "gen_ai.evaluation.result"


def online_wire(
    wires: WireFactory, scorers: list[Scorer], **kwargs: object
) -> tuple[Wire, OnlineScorer]:
    """A wire whose provider also holds an OnlineScorer, added before the exporter."""
    wire = wires("grpc", feedback_first=True)
    online = OnlineScorer(scorers, tracer_provider=wire.provider, **kwargs)  # type: ignore[arg-type]
    # The provider shuts processors down in the order they were added; ours must drain
    # before the exporter closes, so put it first.
    wire.provider._active_span_processor._span_processors = (  # type: ignore[attr-defined]
        online,
        *wire.provider._active_span_processor._span_processors,  # type: ignore[attr-defined]
    )
    return wire, online


def events_by_name(spans: list[ReceivedSpan]) -> dict[str, tuple[ReceivedSpan, dict[str, object]]]:
    found = {}
    for span in feedback_spans(spans):
        for event in span.events_named(EVENT):
            found[str(event.attributes["gen_ai.evaluation.name"])] = (span, event.attributes)
    return found


def test_openinference_span_scored_on_the_right_span(wires: WireFactory) -> None:
    wire, online = online_wire(wires, [Equals(), Contains(substring="paris"), IsJson()])
    with wire.tracer.start_as_current_span("request"):
        with wire.tracer.start_as_current_span("llm") as llm:
            llm.set_attribute("input.value", "Capital of France?")
            llm.set_attribute("output.value", "Paris")
            llm.set_attribute("feedback.ground_truth", "paris")
            llm.set_attribute("session.id", "sess-9")
        with wire.tracer.start_as_current_span("no-io"):
            pass
    assert online.force_flush(10_000)
    spans = wire.wait(2 + 3, predicate=lambda s: True)
    target = wire.receiver.span_by_name("llm")
    found = events_by_name(spans)
    assert set(found) == {"equals", "contains", "is_json"}
    for span, event in found.values():
        assert_late_feedback_span(span, target)
        assert event["feedback.source.type"] == "CODE"
        assert span.attributes["session.id"] == "sess-9"
    assert found["equals"][1]["gen_ai.evaluation.score.value"] == 1.0
    assert found["contains"][1]["gen_ai.evaluation.score.value"] == 1.0
    assert found["is_json"][1]["gen_ai.evaluation.score.value"] == 0.0
    assert found["equals"][0].attributes["feedback.equals"] == 1.0
    # The span without input/output and the request span were not scored.
    assert {span.parent_span_id for span in feedback_spans(spans)} == {target.span_id}


def test_genai_messages_and_judge_with_context(
    wires: WireFactory, judge_server: JudgeServer
) -> None:
    judge = AnswerRelevance(
        model="score:0.8", base_url=judge_server.base_url, api_key="k", backoff=0.01
    )
    wire, online = online_wire(wires, [judge, Levenshtein()])
    with wire.tracer.start_as_current_span("chat gpt-x") as chat:
        chat.set_attribute(
            "gen_ai.input.messages",
            json.dumps(
                [
                    {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
                    {
                        "role": "user",
                        "parts": [{"type": "text", "content": "Hi, capital of Peru?"}],
                    },
                ]
            ),
        )
        chat.set_attribute(
            "gen_ai.output.messages",
            json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Lima."}]}]),
        )
        chat.set_attribute("feedback.ground_truth", "Lima")
    online.force_flush(10_000)
    spans = wire.wait(3)
    target = wire.receiver.span_by_name("chat gpt-x")
    found = events_by_name(spans)
    relevance_span, relevance = found["answer_relevance"]
    assert_late_feedback_span(relevance_span, target)
    assert relevance["gen_ai.evaluation.score.value"] == 0.8
    assert relevance["feedback.source.type"] == "LLM_JUDGE"
    assert relevance["feedback.source.id"] == "score:0.8"
    assert relevance["gen_ai.evaluation.explanation"] == "scored 0.8"
    assert found["levenshtein"][1]["gen_ai.evaluation.score.value"] == pytest.approx(4 / 5)
    sent = judge_server.requests[-1]["messages"][-1]["content"]
    assert "<input>\nHi, capital of Peru?\n</input>" in sent
    assert "<output>\nLima.\n</output>" in sent


def test_fields_of_openinference_documents_and_messages() -> None:
    fields = fields_of(
        {
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "sys",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": "question?",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "answer",
            "retrieval.documents.1.document.content": "second",
            "retrieval.documents.0.document.content": "first",
            "retrieval.documents.0.document.id": "d0",
            "llm.output_logprobs": (-0.1, -0.2),
        }
    )
    assert fields.input == "question?"
    assert fields.output == "answer"
    assert fields.context == ["first", "second"]
    assert fields.logprobs == [-0.1, -0.2]
    structured = fields_of(
        {"gen_ai.output.messages": ({"role": "assistant", "content": "plain"},)}  # type: ignore[dict-item]
    )
    assert structured.output == "plain"
    assert fields_of({"gen_ai.output.messages": "not json"}).output == "not json"


def test_perplexity_from_span_attribute(wires: WireFactory) -> None:
    wire, online = online_wire(wires, [Perplexity()])
    with wire.tracer.start_as_current_span("gen") as span:
        span.set_attribute("output.value", "ab")
        span.set_attribute("llm.output_logprobs", [-1.0, -1.0])
    online.force_flush(10_000)
    _, event = events_by_name(wire.wait(2))["perplexity"]
    assert event["gen_ai.evaluation.score.value"] == pytest.approx(2.718281828459045)


def test_failed_scores_never_invent_values(wires: WireFactory) -> None:
    """An unreachable judge is an error, a field the span lacks records nothing: no
    invented score either way."""
    judge = Hallucination(model="m", base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0)
    wire, online = online_wire(wires, [judge, Equals()])
    with wire.tracer.start_as_current_span("llm") as span:
        span.set_attribute("output.value", "text")  # no context, no expected
    with wire.tracer.start_as_current_span("llm2") as span:
        span.set_attribute("output.value", "text")
        span.set_attribute("retrieval.documents.0.document.content", "doc")
    online.force_flush(10_000)
    wire.provider.force_flush()
    spans = wire.receiver.spans
    scored = [
        event.attributes for span in feedback_spans(spans) for event in span.events_named(EVENT)
    ]
    # Equals has no expected output on either span and the judge no context on the first:
    # not applicable, nothing recorded. The unreachable judge is an error on the wire.
    assert len(scored) == 1
    assert fb.diagnostics()["scoring_not_applicable"] == 3
    assert all("gen_ai.evaluation.score.value" not in event for event in scored)
    assert [event["error.type"] for event in scored] == ["JudgeRequestError"]
    unreachable = next(e for e in scored if e["error.type"] == "JudgeRequestError")
    assert "cannot reach the judge" in str(unreachable["feedback.error"])
    assert unreachable["feedback.source.type"] == "LLM_JUDGE"


def test_bad_span_values_do_not_break_the_app(wires: WireFactory) -> None:
    wire, online = online_wire(wires, [Equals(), Levenshtein()])
    with wire.tracer.start_as_current_span("weird") as span:
        span.set_attribute("output.value", 12345)  # not a string
        span.set_attribute("feedback.ground_truth", "12345")
    with wire.tracer.start_as_current_span("huge") as span:
        span.set_attribute("output.value", "y" * 1_000_000)
        span.set_attribute("feedback.ground_truth", "y")
    online.force_flush(20_000)
    wire.provider.force_flush()
    found = {
        (span.parent_span_id, event.attributes["gen_ai.evaluation.name"]): event.attributes
        for span in feedback_spans(wire.receiver.spans)
        for event in span.events_named(EVENT)
    }
    weird = wire.receiver.span_by_name("weird").span_id
    assert found[(weird, "equals")]["gen_ai.evaluation.score.value"] == 1.0
    assert found[(weird, "levenshtein")]["gen_ai.evaluation.score.value"] == 1.0
    huge = wire.receiver.span_by_name("huge").span_id
    assert "gen_ai.evaluation.score.value" not in found.get((huge, "levenshtein"), {})
    assert fb.diagnostics().get("scoring_input_too_long") == 1


def test_full_queue_drops_and_counts_never_blocks() -> None:
    release = threading.Event()

    class Blocking(Equals):
        def score_fields(self, fields):  # type: ignore[no-untyped-def]
            release.wait(10)
            return super().score_fields(fields)

    provider = TracerProvider()
    online = OnlineScorer([Blocking()], max_queue_size=3, tracer_provider=provider)
    provider.add_span_processor(online)
    tracer = provider.get_tracer("t")
    for _ in range(20):
        with tracer.start_as_current_span("s") as span:
            span.set_attribute("output.value", "x")
    # At most 8 held: 3 incoming, 1 being dispatched, 3 ready, 1 being scored.
    assert online.dropped >= 12
    assert fb.diagnostics()["scoring_queue_full"] == online.dropped
    release.set()
    provider.shutdown()
    assert online.pending == 0


def test_sampling_and_filter() -> None:
    seen: list[str] = []

    class Recording(Equals):
        def score_fields(self, fields):  # type: ignore[no-untyped-def]
            seen.append(str(fields.output))
            return super().score_fields(fields)

    provider = TracerProvider()
    none = OnlineScorer([Recording()], sample_rate=0.0, tracer_provider=provider)
    only_b = OnlineScorer(
        [Recording()], filter=lambda span: span.name == "b", tracer_provider=provider
    )
    for processor in (none, only_b):
        provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    for name in ("a", "b"):
        with tracer.start_as_current_span(name) as span:
            span.set_attribute("output.value", name)
    with tracer.start_as_current_span("b"):
        pass  # no output attribute: the user's filter still selects it
    for processor in (none, only_b):
        processor.force_flush()
    assert sorted(seen) == ["None", "b"]
    provider.shutdown()
    with pytest.raises(ScorerConfigError):
        OnlineScorer([Equals()], sample_rate=1.5)
    with pytest.raises(ScorerConfigError):
        OnlineScorer([])


def test_sampling_is_by_trace_id() -> None:
    scored: list[str] = []

    class Recording(Equals):
        def score_fields(self, fields):  # type: ignore[no-untyped-def]
            scored.append(str(fields.output))
            return super().score_fields(fields)

    online = OnlineScorer([Recording()], sample_rate=0.5)
    low, high = (1 << 64) + 5, (1 << 127) | (1 << 63) | 5  # the low 64 bits decide
    for name, trace_id in (("low1", low), ("high", high), ("low2", low)):
        context = SpanContext(trace_id, 7, is_remote=False, trace_flags=TraceFlags(1))
        online.on_end(ReadableSpan("s", context=context, attributes={"output.value": name}))
    online.shutdown()  # drains
    assert sorted(scored) == ["low1", "low2"]


def test_raising_filter_is_contained() -> None:
    def bad_filter(span: ReadableSpan) -> bool:
        raise RuntimeError("boom")

    provider = TracerProvider()
    online = OnlineScorer([Equals()], filter=bad_filter, tracer_provider=provider)
    provider.add_span_processor(online)
    with provider.get_tracer("t").start_as_current_span("s"):
        pass  # the app goes on
    assert fb.diagnostics()["scoring_enqueue_failed"] == 1
    provider.shutdown()


def test_shutdown_drains_with_a_timeout(otlp_receiver: OTLPReceiver) -> None:
    class Slow(Equals):
        def score_fields(self, fields):  # type: ignore[no-untyped-def]
            time.sleep(0.2)
            return super().score_fields(fields)

    provider = TracerProvider()
    online = OnlineScorer([Slow()], tracer_provider=provider, shutdown_timeout=0.3)
    provider.add_span_processor(online)
    tracer = provider.get_tracer("t")
    for _ in range(10):
        with tracer.start_as_current_span("s") as span:
            span.set_attribute("output.value", "x")
    started = time.monotonic()
    provider.shutdown()
    assert time.monotonic() - started < 5  # bounded, not 10 x 0.2 s of work plus slack
    assert fb.diagnostics()["scoring_shutdown_dropped"] >= 1
    # A processor that was shut down takes nothing more.
    assert online.queued == 0
    late = provider.get_tracer("t").start_span("late", attributes={"output.value": "x"})
    online.on_end(late)  # type: ignore[arg-type]
    assert online.queued == 0


def test_drained_at_shutdown_reach_the_exporter(wires: WireFactory) -> None:
    wire, _ = online_wire(wires, [Equals()])
    for index in range(5):
        with wire.tracer.start_as_current_span(f"s{index}") as span:
            span.set_attribute("output.value", "a")
            span.set_attribute("feedback.ground_truth", "a")
    wire.close()  # no force_flush: shutdown drains, then the exporter shuts down
    assert len(feedback_spans(wire.receiver.spans)) == 5


def test_exporting_processor_shape_is_untouched() -> None:
    """OnlineScorer's own feedback spans are not scored again (no feedback loop)."""
    provider = TracerProvider()
    online = OnlineScorer([Equals()], filter=lambda span: True, tracer_provider=provider)
    provider.add_span_processor(online)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("output.value", "a")
        span.set_attribute("feedback.ground_truth", "a")
    online.force_flush()
    online.force_flush()
    assert [span.name for span in memory.get_finished_spans()] == ["s", "feedback"]
    provider.shutdown()
