"""FeedbackSpanProcessor's hot-path shortcuts behave exactly like the plain code they replace.

* Span fields are read directly for SDK span classes and through the public properties
  (``_spanwrite.SpanFields``) for anything else: both give the same tracked state.
* Session / user ids are remembered per context object: a different context, an explicit
  ``parent_context`` or non-string / empty ids give what ``current_session_id`` /
  ``current_user_id`` give.
* Whether a span is a local root is worked out once per context object, like the ids.
* Eviction of tokened spans and roots keeps exactly the newest ``max_tracked_*`` entries.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider, _Span
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanContext

import otel_feedback as fb
from otel_feedback import _sdk as _spanwrite
from otel_feedback import processor
from otel_feedback.context import current_session_id, current_user_id


@pytest.fixture
def provider() -> Iterator[tuple[TracerProvider, fb.FeedbackSpanProcessor]]:
    tracer_provider = TracerProvider()
    feedback = fb.FeedbackSpanProcessor(
        max_tracked_spans=5, max_tracked_traces=3, tracer_provider=tracer_provider
    )
    tracer_provider.add_span_processor(feedback)
    yield tracer_provider, feedback
    tracer_provider.shutdown()


def _state(feedback: fb.FeedbackSpanProcessor) -> tuple[Any, ...]:
    """Tokened spans (id -> ended?), roots (trace id -> (root span id, ended?)), counts."""
    roots = {}
    for trace_id in {**feedback._roots_old, **feedback._roots}:
        root = feedback._root(trace_id)
        assert root is not None
        roots[trace_id] = (root[0], root[2] is not None)
    tokened = {k: v.__class__ is tuple for k, v in feedback._spans.items()}
    return tokened, roots, feedback.tracked_counts


def _workload(tracer: trace.Tracer) -> list[Any]:
    spans = []
    for index in range(7):
        with tracer.start_as_current_span(f"root-{index}") as root:
            spans.append(root)
            for child_index in range(index % 3):
                with tracer.start_as_current_span(f"child-{child_index}") as child:
                    assert fb.current_feedback_token() is not None  # tracks the child
                    spans.append(child)
    spans.append(tracer.start_span("left-open"))
    return spans


class _ApiOnlyReadable(ReadableSpan):
    """A span class overriding a property: must be read through the public properties."""

    @property
    def context(self) -> Any:
        return self._context


def test_sdk_span_classes_are_read_directly() -> None:
    assert _spanwrite._fields_ok
    assert _spanwrite.span_fields(ReadableSpan(name="x")) is not None
    span = ReadableSpan(name="x", context=SpanContext(1, 2, False))
    assert _spanwrite.span_fields(span) is span
    assert ReadableSpan in _spanwrite.DIRECT_FIELD_CLASSES
    overriding = _ApiOnlyReadable(name="y", context=SpanContext(1, 3, False), start_time=4)
    fields = _spanwrite.span_fields(overriding)
    assert isinstance(fields, _spanwrite.SpanFields)
    assert fields._context == (1, 3, False)
    assert fields._parent is None
    assert fields._start_time == 4
    assert _ApiOnlyReadable not in _spanwrite.DIRECT_FIELD_CLASSES


class _CountingIds(IdGenerator):
    """Deterministic ids, so two runs of the same workload can be compared key by key."""

    def __init__(self) -> None:
        self.next = 0

    def generate_span_id(self) -> int:
        self.next += 1
        return self.next

    def generate_trace_id(self) -> int:
        self.next += 1
        return self.next << 64


def _run_workload(public: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    with monkeypatch.context() as patch:
        if public:
            patch.setattr(processor, "_SDK_FIELDS", False)
            # What the class chooses at import when the SDK's fields are not readable.
            patch.setattr(
                fb.FeedbackSpanProcessor, "on_end", fb.FeedbackSpanProcessor._on_end_public
            )
            patch.setattr(processor, "_DIRECT", set())
            patch.setattr(processor, "_span_fields", _spanwrite.SpanFields)
        tracer_provider = TracerProvider(id_generator=_CountingIds())
        feedback = fb.FeedbackSpanProcessor(
            max_tracked_spans=5, max_tracked_traces=3, tracer_provider=tracer_provider
        )
        tracer_provider.add_span_processor(feedback)
        spans = _workload(tracer_provider.get_tracer("fast"))
        state = _state(feedback)
        spans[-1].end()
        after = _state(feedback)
        tracer_provider.shutdown()
    return state, after


def test_direct_reads_and_public_properties_track_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    direct = _run_workload(False, monkeypatch)
    public = _run_workload(True, monkeypatch)
    for direct_state, public_state in zip(direct, public, strict=True):
        assert list(direct_state[0].items()) == list(public_state[0].items())
        assert direct_state[1] == public_state[1]
        assert direct_state[2] == public_state[2]
    # The 6 tokened children are tracked in one table of max_tracked_spans = 5 (the newest 5,
    # all ended); roots in two generations of max_tracked_traces // 2 = 1: the newest one,
    # the open root "left-open" (then ended). Untokened spans are not held at all.
    assert direct[0][2] == {"open": 1, "ended": 5, "roots": 1}
    assert direct[1][2] == {"open": 0, "ended": 6, "roots": 1}
    assert all(direct[0][0].values()), "every tokened child has ended"
    assert not any(ended for _, ended in direct[0][1].values())
    # The last root (left open) got its end remembered, both ways.
    assert all(ended for _, ended in direct[1][1].values())
    assert all(ended for _, ended in public[1][1].values())


class _PropertiesOnly:
    """A span object with the public properties only (a wrapper): no SDK fields to read."""

    def __init__(self, context: SpanContext, parent: SpanContext | None, end: int | None):
        self.context, self.parent, self.end_time = context, parent, end
        self.instrumentation_scope, self.start_time = None, 1

    def is_recording(self) -> bool:
        return self.end_time is None


def test_a_span_without_sdk_fields_is_read_through_its_properties(
    provider: tuple[TracerProvider, fb.FeedbackSpanProcessor],
) -> None:
    _, feedback = provider
    root = _PropertiesOnly(SpanContext(0xABC, 0xD1, False), None, None)
    feedback.on_start(root, parent_context=otel_context.Context())  # type: ignore[arg-type]
    assert feedback.root_of(0xABC) == processor.RootInfo(0xD1, None)
    root.end_time = 42
    feedback.on_end(root)  # type: ignore[arg-type]
    assert feedback.root_of(0xABC) == processor.RootInfo(0xD1, 42)
    assert fb.diagnostics() == {}


def test_a_remote_parented_root_makes_on_end_watch(
    provider: tuple[TracerProvider, fb.FeedbackSpanProcessor],
) -> None:
    tracer_provider, feedback = provider
    tracer = tracer_provider.get_tracer("remote")
    assert feedback._watching_ends is False
    remote = trace.set_span_in_context(
        trace.NonRecordingSpan(SpanContext(0xFEED, 0xBEEF, True, trace.TraceFlags(1)))
    )
    server = tracer.start_span("server", context=remote)
    assert feedback._watching_ends is True
    assert feedback.root_of(0xFEED) == processor.RootInfo(server.get_span_context().span_id)
    server.end()
    assert feedback.root_of(0xFEED) == processor.RootInfo(
        server.get_span_context().span_id, server.end_time
    )


def test_eviction_keeps_exactly_the_newest(
    provider: tuple[TracerProvider, fb.FeedbackSpanProcessor],
) -> None:
    tracer_provider, feedback = provider
    tracer = tracer_provider.get_tracer("evict")
    tokened = []
    for index in range(40):
        with (
            tracer.start_as_current_span(f"root-{index}"),
            tracer.start_as_current_span(f"child-{index}") as span,
        ):
            assert fb.current_feedback_token() is not None
        tokened.append(span)
        counts = feedback.tracked_counts
        # Tokened spans: exactly the newest max_tracked_spans = 5. Roots: two generations
        # of max_tracked_traces // 2 = 1, so 1 or 2 of them.
        assert list(feedback._spans) == [
            s.get_span_context().span_id for s in tokened[-5:]
        ]
        assert min(index + 1, 1) <= counts["roots"] <= 2
    for span in tokened[-5:]:
        context = span.get_span_context()
        assert feedback.end_time_of(context.trace_id, context.span_id) == span.end_time
    gone = tokened[-6].get_span_context()
    assert feedback.end_time_of(gone.trace_id, gone.span_id) is None
    roots = list({**feedback._roots_old, **feedback._roots})
    assert roots == [s.get_span_context().trace_id for s in tokened[-len(roots) :]]


def _started_ids(tracer: trace.Tracer, context: otel_context.Context | None) -> dict[str, Any]:
    span = tracer.start_span("s", context=context)
    span.end()
    attributes = dict(span.attributes or {})  # type: ignore[attr-defined]
    return {k: attributes.get(k) for k in ("session.id", "user.id")}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, (None, None)),
        ({"session": "s1"}, ("s1", None)),
        ({"session": "s1", "user": "u1"}, ("s1", "u1")),
        ({"oi_session": "oi-s", "oi_user": "oi-u"}, ("oi-s", "oi-u")),
        ({"session": "", "oi_session": "oi-s"}, (None, None)),
        ({"session": 42, "user": ""}, (None, None)),
        ({"oi_session": 7, "user": "u"}, (None, "u")),
    ],
)
def test_identity_matches_the_context_helpers(
    provider: tuple[TracerProvider, fb.FeedbackSpanProcessor],
    values: dict[str, Any],
    expected: tuple[str | None, str | None],
) -> None:
    from otel_feedback.context import (  # noqa: PLC0415
        _OPENINFERENCE_SESSION_KEY,
        _OPENINFERENCE_USER_KEY,
        _SESSION_KEY,
        _USER_KEY,
    )

    keys = {
        "session": _SESSION_KEY,
        "user": _USER_KEY,
        "oi_session": _OPENINFERENCE_SESSION_KEY,
        "oi_user": _OPENINFERENCE_USER_KEY,
    }
    tracer_provider, _ = provider
    tracer = tracer_provider.get_tracer("identity")
    context = otel_context.Context()
    for name, value in values.items():
        context = otel_context.set_value(keys[name], value, context)
    assert (current_session_id(context), current_user_id(context)) == expected
    want = {"session.id": expected[0], "user.id": expected[1]}
    assert _started_ids(tracer, context) == want  # explicit parent context
    assert _started_ids(tracer, context) == want  # the same context again (remembered)
    token = otel_context.attach(context)
    try:
        assert _started_ids(tracer, None) == want  # from the current context
    finally:
        otel_context.detach(token)
    assert _started_ids(tracer, otel_context.Context()) == {"session.id": None, "user.id": None}


def test_identity_follows_the_current_context(
    provider: tuple[TracerProvider, fb.FeedbackSpanProcessor],
) -> None:
    tracer_provider, _ = provider
    tracer = tracer_provider.get_tracer("identity")
    seen = []
    for session in ("a", "b", "b", "a"):
        with fb.using_session(session, user_id=f"user-{session}"):
            for _ in range(2):
                with tracer.start_as_current_span("s") as span:
                    seen.append(dict(span.attributes or {}))  # type: ignore[attr-defined]
    with tracer.start_as_current_span("outside") as span:
        seen.append(dict(span.attributes or {}))  # type: ignore[attr-defined]
    sessions = [s.get("session.id") for s in seen]
    users = [s.get("user.id") for s in seen]
    assert sessions == ["a", "a", "b", "b", "b", "b", "a", "a", None]
    assert users == ["user-a"] * 2 + ["user-b"] * 4 + ["user-a"] * 2 + [None]


def test_sdk_span_subclass_is_the_class_seen_at_start() -> None:
    assert issubclass(_Span, ReadableSpan)


# -- identity written in one critical section == two set_attribute calls -----------------


def _identity_after(limits: Any, preset: dict[str, Any], fast: bool, ids: tuple[Any, Any]) -> Any:
    tracer_provider = TracerProvider(span_limits=limits)
    span = tracer_provider.get_tracer("identity").start_span("s", attributes=preset)
    if fast:
        _spanwrite.set_identity(span, *ids)
    else:
        if ids[0] is not None:
            span.set_attribute("session.id", ids[0])
        if ids[1] is not None:
            span.set_attribute("user.id", ids[1])
    span.end()
    readable: Any = span
    return list(readable.attributes.items()), readable.dropped_attributes


@pytest.mark.parametrize(
    ("limits", "preset"),
    [
        (SpanLimits(), {}),
        (SpanLimits(), {"app": 1, "session.id": "old", "z": 2}),
        (SpanLimits(max_span_attributes=3), {"a": 1, "b": 2}),  # room for one only
        (SpanLimits(max_span_attributes=3), {"a": 1, "user.id": "old", "b": 2}),
        (SpanLimits(max_span_attributes=2), {"a": 1, "b": 2}),  # full: the SDK evicts
        (SpanLimits(max_span_attributes=0), {}),
        (SpanLimits(max_attribute_length=3), {"a": 1}),  # truncation: the SDK's own
    ],
)
@pytest.mark.parametrize("ids", [("session-1", "user-1"), ("session-1", None), (None, "user-1")])
def test_set_identity_equals_set_attribute(
    limits: SpanLimits, preset: dict[str, Any], ids: tuple[Any, Any]
) -> None:
    assert _identity_after(limits, preset, True, ids) == _identity_after(limits, preset, False, ids)


def test_set_identity_on_an_ended_span_writes_nothing() -> None:
    span = TracerProvider().get_tracer("identity").start_span("s")
    span.end()
    _spanwrite.set_identity(span, "session-1", "user-1")
    assert dict(span.attributes or {}) == {}  # type: ignore[attr-defined]


# -- event attributes copied in == Span.add_event ----------------------------------------

EVENT_ATTRIBUTES = {
    "gen_ai.evaluation.name": "rating",
    "gen_ai.evaluation.score.value": 4.0,
    "feedback.id": "a" * 32,
    "feedback.value.tags": ("x", "yy"),
    "feedback.value.ok": True,
    "feedback.value.n": 3,
}


@pytest.mark.parametrize(
    "limits",
    [
        SpanLimits(),
        SpanLimits(max_event_attributes=6),
        SpanLimits(max_event_attributes=4),  # the SDK keeps the newest 4
        SpanLimits(max_event_attributes=0),
        SpanLimits(max_attribute_length=2),  # strings and string arrays truncated
    ],
)
@pytest.mark.parametrize("fast", [True, False])
def test_event_written_like_add_event(limits: SpanLimits, fast: bool) -> None:
    tracer = TracerProvider(span_limits=limits).get_tracer("event")
    ours = tracer.start_span("ours")
    assert (
        _spanwrite.write(
            ours, {}, ("gen_ai.evaluation.result", EVENT_ATTRIBUTES), timestamp=123, fast=fast
        )
        == {}
    )
    theirs = tracer.start_span("theirs")
    theirs.add_event("gen_ai.evaluation.result", EVENT_ATTRIBUTES, timestamp=123)
    ours.end()
    theirs.end()
    [mine], [sdk] = ours.events, theirs.events  # type: ignore[attr-defined]
    assert (
        (mine.name, mine.timestamp)
        == (sdk.name, sdk.timestamp)
        == (
            "gen_ai.evaluation.result",
            123,
        )
    )
    assert list(mine.attributes.items()) == list(sdk.attributes.items())
    assert mine.attributes.dropped == sdk.attributes.dropped
    with pytest.raises(TypeError):
        mine.attributes["x"] = 1  # frozen, as the SDK's


def test_event_timestamp_defaults_to_now() -> None:
    span = TracerProvider().get_tracer("event").start_span("s")
    before = time.time_ns()
    _spanwrite.write(span, {}, ("e", {"a": 1}))
    [event] = span.events  # type: ignore[attr-defined]
    assert before <= event.timestamp <= time.time_ns()
