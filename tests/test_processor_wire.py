"""FeedbackSpanProcessor: attribute budget, bounded memory, lifecycle and its place beside
the exporting processors — proven on decoded OTLP data where there is something to export."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from helpers_wire import (
    Wire,
    WireFactory,
    assert_late_feedback_span,
    feedback_spans,
    hex_ids,
    only_event,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider

import otel_feedback as fb
from otel_feedback.emit import Emitter
from otel_feedback.processor import active_processors
from otel_feedback.testing import OTLPReceiver

# -- attribute budget ------------------------------------------------------------------------


@pytest.mark.parametrize("helper", ["enrich_span", "log_feedback"])
def test_attribute_budget_never_evicts_and_overflows_to_child(
    wire: Wire, helper: str, clean_diagnostics: None, caplog: pytest.LogCaptureFixture
) -> None:
    original = {f"app.attr{i:03d}": i for i in range(120)}
    extra = {f"k{i:02d}": i for i in range(20)}
    with (
        wire.tracer.start_as_current_span("busy", attributes=original) as span,
        caplog.at_level(logging.WARNING, logger="otel_feedback"),
    ):
        if helper == "enrich_span":
            fb.enrich_span(feedback=extra)
        else:
            fb.log_feedback("bulk", extra)
    busy = wire.one("busy")
    overflow = wire.one("feedback")
    namespace = "feedback." if helper == "enrich_span" else "feedback.bulk."
    # Nothing the application set was evicted, and the span is full but not over.
    assert {k: v for k, v in busy.attributes.items() if k.startswith("app.")} == original
    assert busy.dropped_attributes_count == 0
    on_span = {k: v for k, v in busy.attributes.items() if k.startswith(namespace)}
    assert len(busy.attributes) == 128
    assert len(on_span) == 8
    # The rest is on a feedback child span of the busy span: together, all 20.
    assert_late_feedback_span(overflow, busy)
    assert overflow.span_id != busy.span_id
    assert hex_ids(span) == (busy.trace_id, busy.span_id)
    off_span = {k: v for k, v in overflow.attributes.items() if k.startswith(namespace)}
    assert len(off_span) == 12
    assert {**on_span, **off_span} == {f"{namespace}{k}": v for k, v in extra.items()}
    # log_feedback also writes the record as an OpenInference annotation (name,
    # annotator_kind, identifier): those 3 keys overflow with the rest.
    assert fb.diagnostics().get("attribute_budget") == (12 if helper == "enrich_span" else 15)
    messages = [r.getMessage() for r in caplog.records if r.name == "otel_feedback"]
    said = "12 of 20" if helper == "enrich_span" else "15 of 23"
    assert any(f"{said} feedback attributes did not fit" in m for m in messages), messages
    if helper == "log_feedback":
        assert only_event(busy).attributes["gen_ai.evaluation.name"] == "bulk"


def test_re_set_keys_fit_on_a_full_span(grpc_wire: Wire, clean_diagnostics: None) -> None:
    with grpc_wire.tracer.start_as_current_span("full") as span:
        fb.enrich_span(feedback={f"k{i}": 0 for i in range(8)})
        span.set_attributes({f"app.{i}": i for i in range(120)})
        fb.enrich_span(feedback={f"k{i}": 1 for i in range(8)})  # updates, needs no room
    full = grpc_wire.one("full")
    assert all(full.attributes[f"feedback.k{i}"] == 1 for i in range(8))
    assert all(full.attributes[f"app.{i}"] == i for i in range(120))
    assert not feedback_spans(grpc_wire.receiver.spans)
    assert "attribute_budget" not in fb.diagnostics()


# -- bounded memory ----------------------------------------------------------------------------


@pytest.fixture
def bounded() -> Iterator[tuple[TracerProvider, fb.FeedbackSpanProcessor]]:
    provider = TracerProvider()
    processor = fb.FeedbackSpanProcessor(
        max_tracked_spans=100, max_tracked_traces=50, tracer_provider=provider
    )
    provider.add_span_processor(processor)
    yield provider, processor
    provider.shutdown()


def within(processor: fb.FeedbackSpanProcessor) -> bool:
    counts = processor.tracked_counts
    return counts["open"] <= 150 and counts["ended"] <= 150 and counts["roots"] <= 50


def test_ten_thousand_spans_stay_within_bounds(
    bounded: tuple[TracerProvider, fb.FeedbackSpanProcessor],
) -> None:
    provider, processor = bounded
    tracer = provider.get_tracer("bounded")
    peak = {"open": 0, "ended": 0, "roots": 0}
    started = 0
    while started < 10_000:
        with tracer.start_as_current_span("root"):
            started += 1
            for index in range(4):
                with tracer.start_as_current_span("child"):
                    started += 1
                    if index == 0:
                        assert fb.current_feedback_token() is not None  # tracks this child
                    assert within(processor), processor.tracked_counts
                    for key, value in processor.tracked_counts.items():
                        peak[key] = max(peak[key], value)
        assert within(processor), processor.tracked_counts
    assert started == 10_000
    assert peak["open"] == 2, "the open root and the open tokened child; other spans not held"
    assert 100 <= peak["ended"] <= 150, "the newest 100 tokened children, and the roots"
    assert 25 <= peak["roots"] <= 50, "recent roots are remembered, within the bound"
    # The newest trace is still remembered.
    with tracer.start_as_current_span("last") as last:
        pass
    context = last.get_span_context()
    root = processor.root_of(context.trace_id)
    assert root is not None
    assert root.span_id == context.span_id
    assert processor.end_time_of(context.trace_id, context.span_id) == last.end_time


def test_never_ended_spans_stay_bounded(
    bounded: tuple[TracerProvider, fb.FeedbackSpanProcessor],
) -> None:
    provider, processor = bounded
    tracer = provider.get_tracer("leak")
    leaked = [tracer.start_span(f"leak-{i}") for i in range(10_000)]
    assert 0 < processor.tracked_counts["open"] <= 100
    assert 0 < processor.tracked_counts["roots"] <= 50
    assert within(processor)
    # The newest are the ones kept.
    assert processor.open_span(*_ids(leaked[-1])) is leaked[-1]
    assert processor.open_span(*_ids(leaked[0])) is None
    for span in leaked:
        span.end()
    assert within(processor)


def test_root_end_survives_while_children_are_not_held(wires: WireFactory) -> None:
    wire = wires("grpc", max_tracked_spans=10, max_tracked_traces=50)
    tracer = wire.tracer
    with tracer.start_as_current_span("root-a") as root:
        pass
    with tracer.start_as_current_span("root-b"):
        for _ in range(20):
            with tracer.start_as_current_span("b-child"):
                pass
    assert wire.processor.tracked_counts == {"open": 0, "ended": 2, "roots": 2}
    fb.log_feedback("coherence", 1, trace_id=hex_ids(root)[0])
    late = wire.one("feedback")
    root_a = wire.one("root-a")
    assert_late_feedback_span(late, root_a)
    assert late.start_time_unix_nano == root_a.end_time_unix_nano


def test_feedback_by_ids_for_an_untracked_ended_span_stays_inside_its_trace(
    grpc_wire: Wire,
) -> None:
    """A span nobody asked a token for is not held; after it ended, feedback by its ids sits
    under it, at a time inside its trace's local root: now while the root is open, else the
    root's end. The trace's duration never grows."""
    tracer = grpc_wire.tracer
    with tracer.start_as_current_span("root") as root:
        with tracer.start_as_current_span("early") as early:
            pass
        fb.log_feedback("while_open", 1, trace_id=hex_ids(root)[0], span_id=hex_ids(early)[1])
        with tracer.start_as_current_span("late"):
            pass
    fb.log_feedback("after", 1, trace_id=hex_ids(root)[0], span_id=hex_ids(early)[1])
    spans = grpc_wire.wait(5)
    received = {span.name: span for span in spans if span.name != "feedback"}
    late_spans = feedback_spans(spans)
    assert len(late_spans) == 2
    for late in late_spans:
        assert_late_feedback_span(late, received["early"], inside=False)
        assert (
            received["root"].start_time_unix_nano
            <= late.start_time_unix_nano
            <= received["root"].end_time_unix_nano
        ), "inside the trace's root"
    after = next(s for s in late_spans if "feedback.after" in s.attributes)
    assert after.start_time_unix_nano == received["root"].end_time_unix_nano


def test_late_feedback_spans_are_never_roots(grpc_wire: Wire) -> None:
    unknown_trace = "0af7651916cd43dd8448eb211c80319c"
    fb.log_feedback("first", 1, trace_id=unknown_trace)
    fb.log_feedback("second", 2, trace_id=unknown_trace)
    late = grpc_wire.wait(2)
    assert [span.parent_span_id for span in late] == [None, None], "neither under the other"
    assert grpc_wire.processor.root_of(int(unknown_trace, 16)) is None


def test_long_lived_root_end_is_remembered_after_open_table_eviction(
    wires: WireFactory,
) -> None:
    """A root that outlives max_tracked_spans children must still have its end remembered,
    or trace feedback after it lands at 'now' and stretches the trace (docs/DESIGN.md §3)."""
    wire = wires("grpc", max_tracked_spans=10, max_tracked_traces=50)
    tracer = wire.tracer
    with tracer.start_as_current_span("long-root") as root:
        # 20 concurrent children evict the (still open) root from the open-span table.
        children = [tracer.start_span(f"child-{i}") for i in range(20)]
        for child in children:
            child.end()
    fb.log_feedback("coherence", 1, trace_id=hex_ids(root)[0])
    late = wire.one("feedback")
    long_root = wire.one("long-root")
    assert_late_feedback_span(late, long_root)


# -- lifecycle ---------------------------------------------------------------------------------


def test_shutdown_stops_tracking_and_lookups_return_none(grpc_wire: Wire) -> None:
    tracer = grpc_wire.tracer
    processor = grpc_wire.processor
    with tracer.start_as_current_span("before") as before:
        pass
    context = before.get_span_context()
    assert processor.end_time_of(context.trace_id, context.span_id) == before.end_time
    assert processor in active_processors()
    processor.shutdown()
    assert processor not in active_processors()
    assert processor.tracked_counts == {"open": 0, "ended": 0, "roots": 0}
    assert processor.end_time_of(context.trace_id, context.span_id) is None
    assert processor.root_of(context.trace_id) is None
    with fb.using_session("after-shutdown"), tracer.start_as_current_span("after") as after:
        assert processor.open_span(*_ids(after)) is None
        assert processor.tracked_counts == {"open": 0, "ended": 0, "roots": 0}
    assert processor.root_of(after.get_span_context().trace_id) is None
    assert processor.force_flush() is True
    spans = {span.name: span for span in grpc_wire.wait(2)}
    assert "session.id" not in spans["after"].attributes, "on_start does nothing after shutdown"
    processor.shutdown()  # idempotent


def test_force_flush_delivers_batched_log_records(
    otlp_receiver: OTLPReceiver, wires: WireFactory
) -> None:
    from helpers_wire import log_exporter  # noqa: PLC0415

    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(log_exporter(otlp_receiver, "grpc"), schedule_delay_millis=600_000)
    )
    wire = wires("grpc", emit_log_records=True)
    wire.processor.emitter = Emitter(wire.provider, logger_provider, emit_log_records=True)
    try:
        with wire.tracer.start_as_current_span("chat"):
            fb.log_feedback("rating", 1)
        assert otlp_receiver.logs == []
        assert wire.processor.force_flush(10_000) is True
        assert len(otlp_receiver.logs_by_event_name("gen_ai.evaluation.result")) == 1
        assert wire.provider.force_flush(10_000) is True  # no recursion through our processor
    finally:
        logger_provider.shutdown()


def test_hooks_never_raise(grpc_wire: Wire, clean_diagnostics: None) -> None:
    processor = grpc_wire.processor
    processor.on_start(object())  # type: ignore[arg-type]
    processor.on_end(object())  # type: ignore[arg-type]
    assert fb.diagnostics().get("internal_error", 0) >= 1


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_tracked"):
        fb.FeedbackSpanProcessor(max_tracked_spans=0)
    with pytest.raises(ValueError, match="max_tracked"):
        fb.FeedbackSpanProcessor(max_tracked_traces=0)


# -- beside a BatchSpanProcessor, in both orders -----------------------------------------------


@pytest.mark.parametrize("feedback_first", [True, False], ids=["feedback-first", "batch-first"])
def test_beside_batch_span_processor(wires: WireFactory, feedback_first: bool) -> None:
    wire = wires("grpc", batch=True, feedback_first=feedback_first)
    tracer = wire.tracer
    with (
        fb.using_session("s-batch", user_id="u-batch"),
        tracer.start_as_current_span("root"),
        tracer.start_as_current_span("child") as child,
    ):
        fb.enrich_span(feedback={"live": 1})
        fb.enrich_session(metrics={"turns": 2})
        token = fb.current_feedback_token()
    fb.log_feedback("late", 2, target=token)
    assert wire.export_processor.force_flush(10_000)
    spans = {span.name: span for span in wire.wait(3)}
    assert spans["child"].span_id == hex_ids(child)[1]
    assert spans["child"].attributes["feedback.live"] == 1
    assert spans["root"].attributes["metrics.turns"] == 2
    for name in ("root", "child", "feedback"):
        assert spans[name].attributes["session.id"] == "s-batch"
        assert spans[name].attributes["user.id"] == "u-batch"
    assert_late_feedback_span(spans["feedback"], spans["child"])
    assert spans["feedback"].attributes["feedback.late"] == 2
    assert wire.processor.tracked_counts["open"] == 0


def _ids(span: Any) -> tuple[int, int]:
    context = span.get_span_context()
    return context.trace_id, context.span_id
