"""``_spanwrite.write``: the fast path, the public fallback and plain ``set_attributes`` /
``add_event`` give identical spans on the wire (docs/DESIGN.md §5)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from helpers_wire import WireFactory
from opentelemetry import trace
from opentelemetry.sdk.trace import Span, SpanLimits
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status

from otel_feedback import _sdk as _spanwrite
from otel_feedback.testing import ReceivedSpan

Event = tuple[str, dict[str, Any]]
Writer = Callable[[Span, dict[str, Any], Event | None], Any]


def fast(span: Span, attributes: dict[str, Any], event: Event | None) -> Any:
    return _spanwrite.write(span, attributes, event, fast=True)


def slow(span: Span, attributes: dict[str, Any], event: Event | None) -> Any:
    return _spanwrite.write(span, attributes, event, fast=False)


def plain(span: Span, attributes: dict[str, Any], event: Event | None) -> Any:
    span.set_attributes(attributes)
    if event is not None:
        span.add_event(*event)
    return {}


WRITERS: dict[str, Writer] = {"fast": fast, "slow": slow, "plain": plain}


def shape(span: ReceivedSpan) -> tuple[Any, ...]:
    """Everything about a received span that a writer could influence, in order."""
    return (
        list(span.attributes.items()),
        [(event.name, list(event.attributes.items())) for event in span.events],
        span.dropped_attributes_count,
        span.dropped_events_count,
    )


def run_all(
    wires: WireFactory,
    scenario: Callable[[Span, Writer], None],
    limits: SpanLimits | None = None,
    writers: tuple[str, ...] = ("fast", "slow", "plain"),
) -> dict[str, ReceivedSpan]:
    wire = wires("grpc", limits=limits)
    for name in writers:
        span = wire.tracer.start_span(name, attributes={"app.first": "a", "app.second": 2})
        assert isinstance(span, Span)
        scenario(span, WRITERS[name])
        if span.is_recording():
            span.end()
    received = {span.name: span for span in wire.wait(len(writers))}
    assert set(received) == set(writers)
    return received


FEEDBACK: dict[str, Any] = {
    "feedback.rating": 5,
    "feedback.ok": True,
    "feedback.score": 0.5,
    "feedback.comment": "a long comment",
    "feedback.tags": ("alpha", "beta-gamma"),
    "feedback.nums": (1, 2, 3),
}
EVENT: Event = (
    "gen_ai.evaluation.result",
    {"gen_ai.evaluation.name": "rating", "feedback.value": "a long value", "n": 1.5},
)


def test_fast_path_is_taken_for_sdk_spans(wires: WireFactory) -> None:
    wire = wires("grpc")
    span = wire.tracer.start_span("probe")
    assert _spanwrite.supports_fast_path(span) is True
    span.end()
    assert _spanwrite.supports_fast_path(NonRecordingSpan(span.get_span_context())) is False


def test_identical_attributes_and_events(wires: WireFactory) -> None:
    def scenario(span: Span, write: Writer) -> None:
        assert write(span, dict(FEEDBACK), EVENT) == {}

    received = run_all(wires, scenario)
    assert shape(received["fast"]) == shape(received["slow"]) == shape(received["plain"])
    assert received["fast"].attributes["feedback.tags"] == ("alpha", "beta-gamma")
    assert received["fast"].events[0].attributes["feedback.value"] == "a long value"


@pytest.mark.parametrize(
    "limits",
    [
        SpanLimits(max_span_attribute_length=5),
        SpanLimits(max_attribute_length=5),
        SpanLimits(max_span_attribute_length=5, max_attribute_length=3),
    ],
    ids=["span-length-5", "any-length-5", "span-5-event-3"],
)
def test_identical_string_truncation(
    wires: WireFactory, limits: SpanLimits, caplog: pytest.LogCaptureFixture
) -> None:
    def scenario(span: Span, write: Writer) -> None:
        write(span, dict(FEEDBACK), EVENT)

    with caplog.at_level(logging.WARNING):
        received = run_all(wires, scenario, limits)
    assert shape(received["fast"]) == shape(received["slow"]) == shape(received["plain"])
    assert received["fast"].attributes["feedback.comment"] == "a lon"
    assert received["fast"].attributes["feedback.tags"] == ("alpha", "beta-")
    assert received["fast"].attributes["feedback.rating"] == 5
    assert any("truncat" in record.getMessage() for record in caplog.records)


def test_identical_when_keys_are_set_again(wires: WireFactory) -> None:
    def scenario(span: Span, write: Writer) -> None:
        write(span, {"feedback.a": 1, "feedback.b": 2}, None)
        span.set_attribute("app.middle", "m")
        write(span, {"feedback.a": 3, "app.first": "again"}, EVENT)
        write(span, {"feedback.b": 4}, None)

    received = run_all(wires, scenario)
    assert shape(received["fast"]) == shape(received["slow"]) == shape(received["plain"])
    assert list(received["fast"].attributes) == [
        "app.second",
        "app.middle",
        "feedback.a",
        "app.first",
        "feedback.b",
    ]
    assert received["fast"].attributes["feedback.a"] == 3


def test_identical_within_a_small_attribute_limit(wires: WireFactory) -> None:
    """Up to the limit the three agree; fast and slow then return the same overflow."""
    overflow: dict[str, Any] = {}

    def scenario(span: Span, write: Writer) -> None:
        overflow[span.name] = write(span, {f"feedback.k{i}": i for i in range(3)}, None)

    received = run_all(wires, scenario, SpanLimits(max_span_attributes=5))
    assert shape(received["fast"]) == shape(received["slow"]) == shape(received["plain"])
    assert overflow["fast"] == overflow["slow"] == {}


def test_fast_and_slow_agree_past_a_custom_attribute_limit(wires: WireFactory) -> None:
    """Past the span's own limit neither path may evict the application's attributes."""
    overflow: dict[str, Any] = {}

    def scenario(span: Span, write: Writer) -> None:
        overflow[span.name] = write(span, {f"feedback.k{i}": i for i in range(6)}, None)

    received = run_all(wires, scenario, SpanLimits(max_span_attributes=5), ("fast", "slow"))
    assert received["fast"].attributes["app.first"] == "a"
    assert received["fast"].dropped_attributes_count == 0
    assert overflow["fast"] == {f"feedback.k{i}": i for i in range(3, 6)}
    assert shape(received["slow"]) == shape(received["fast"])
    assert overflow["slow"] == overflow["fast"]


@pytest.mark.parametrize("path", ["fast", "slow"])
def test_writing_to_an_ended_span_returns_none(wires: WireFactory, path: str) -> None:
    wire = wires("grpc")
    span = wire.tracer.start_span("ended", attributes={"app.x": 1})
    assert isinstance(span, Span)
    span.end()
    assert WRITERS[path](span, {"feedback.late": 1}, EVENT) is None
    span.set_attributes({"feedback.plain": 1})  # the SDK ignores it, as the writers must
    [received] = wire.wait(1)
    assert received.attributes == {"app.x": 1}
    assert received.events == []


def test_status_and_other_span_data_untouched(wires: WireFactory) -> None:
    def scenario(span: Span, write: Writer) -> None:
        span.set_status(Status(trace.StatusCode.ERROR, "boom"))
        write(span, {"feedback.x": 1}, EVENT)

    received = run_all(wires, scenario)
    for span in received.values():
        assert (span.status_code, span.status_message) == (2, "boom")
        assert span.kind == 1


class ApiOnlySpan(trace.Span):
    """A recording span from some other API implementation (no SDK internals)."""

    def __init__(self) -> None:
        self.attributes: dict[str, Any] = {}
        self.events: list[Event] = []
        self._context = SpanContext(1, 2, is_remote=False)

    def get_span_context(self) -> SpanContext:
        return self._context

    def set_attributes(self, attributes: Any) -> None:
        self.attributes.update(attributes)

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def add_event(self, name: str, attributes: Any = None, timestamp: Any = None) -> None:
        self.events.append((name, dict(attributes or {})))

    def update_name(self, name: str) -> None:
        pass

    def is_recording(self) -> bool:
        return True

    def set_status(self, status: Any, description: Any = None) -> None:
        pass

    def record_exception(self, *args: Any, **kwargs: Any) -> None:
        pass

    def end(self, end_time: Any = None) -> None:
        pass


def test_fallback_works_for_spans_without_sdk_internals() -> None:
    span = ApiOnlySpan()
    assert _spanwrite.supports_fast_path(span) is False
    assert _spanwrite.write(span, {"feedback.x": 1}, EVENT) == {}  # type: ignore[arg-type]
    assert span.attributes == {"feedback.x": 1}
    assert span.events == [EVENT]


def test_fallback_on_a_non_recording_span_writes_nothing() -> None:
    span = NonRecordingSpan(SpanContext(1, 2, is_remote=False))
    assert _spanwrite.write(span, {"feedback.x": 1}, EVENT) is None  # type: ignore[arg-type]
