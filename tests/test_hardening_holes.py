"""Tests that catch the small semantic changes the suite once let through.

Each test names the change it guards against: integer id ``0`` accepted; a span with a remote
parent not counted as a local root; a later local root of a trace never made current;
off-by-one at the documented boundaries; re-setting an existing key on a full span through
the public fallback write; the direct write without the span's lock.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from helpers_wire import Wire, WireFactory
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import otel_feedback as fb
from otel_feedback import _sdk
from otel_feedback.record import MAX_NAME_LENGTH, MAX_TEXT_LENGTH
from otel_feedback.token import MAX_TOKEN_CHARS, FeedbackToken

TRACE_HEX = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_HEX = "00f067aa0ba902b7"
TRACE_ID = int(TRACE_HEX, 16)


# -- ids: zero is never an id --------------------------------------------------------------


@pytest.mark.parametrize(
    ("trace_id", "span_id"),
    [(0, 1), (TRACE_ID, 0), (0, None)],
    ids=["trace-0", "span-0", "trace-0-alone"],
)
def test_integer_id_zero_is_refused(grpc_wire: Wire, trace_id: int, span_id: int | None) -> None:
    assert fb.log_feedback("rating", 1, trace_id=trace_id, span_id=span_id) is None
    assert fb.diagnostics() == {"invalid_target": 1}
    with pytest.raises(fb.InvalidTargetError, match="out of range"):
        fb.log_feedback("rating", 1, trace_id=trace_id, span_id=span_id, strict=True)
    assert grpc_wire.receiver.spans == []


def test_integer_span_id_zero_alone_is_refused() -> None:
    with pytest.raises(fb.InvalidTargetError, match="out of range"):
        fb.log_feedback("rating", 1, span_id=0, strict=True)


def test_integer_ids_one_are_accepted(grpc_wire: Wire) -> None:
    assert fb.log_feedback("rating", 1, trace_id=1, span_id=1) is not None
    (late,) = grpc_wire.wait_named(fb.FEEDBACK_SPAN_NAME)
    assert (late.trace_id, late.parent_span_id) == ("0" * 31 + "1", "0" * 15 + "1")


# -- local roots ---------------------------------------------------------------------------


def remote_parent_context() -> otel_context.Context:
    carrier = {"traceparent": f"00-{TRACE_HEX}-{PARENT_HEX}-01"}
    return TraceContextTextMapPropagator().extract(carrier)


def test_a_server_span_continuing_a_traceparent_is_the_local_root(grpc_wire: Wire) -> None:
    tracer = grpc_wire.tracer
    with tracer.start_as_current_span(
        "server", context=remote_parent_context(), kind=SpanKind.SERVER
    ), tracer.start_as_current_span("child"), tracer.start_as_current_span("grandchild"):
        fb.enrich_session(feedback={"liked": True})
    server = grpc_wire.one("server")
    assert server.parent_span_id == PARENT_HEX
    assert server.attributes["feedback.liked"] is True
    assert "feedback.liked" not in grpc_wire.one("child").attributes
    assert grpc_wire.receiver.spans_named(fb.FEEDBACK_SPAN_NAME) == []
    assert fb.diagnostics() == {}


def test_trace_level_feedback_by_id_lands_on_the_remote_parented_root(grpc_wire: Wire) -> None:
    tracer = grpc_wire.tracer
    with tracer.start_as_current_span("server", context=remote_parent_context()):
        with tracer.start_as_current_span("child"):
            pass
        fb.log_feedback("rating", 3, trace_id=TRACE_HEX)
    assert grpc_wire.one("server").attributes["feedback.rating"] == 3


def test_a_later_local_root_of_the_same_trace_becomes_current(grpc_wire: Wire) -> None:
    """Two requests continue one traceparent in turn; feedback in the second lands on it."""
    tracer = grpc_wire.tracer
    with tracer.start_as_current_span("first", context=remote_parent_context()):
        pass
    with (
        tracer.start_as_current_span("second", context=remote_parent_context()),
        tracer.start_as_current_span("child"),
    ):
        fb.enrich_session(feedback={"liked": False})
    assert grpc_wire.one("second").attributes["feedback.liked"] is False
    assert "feedback.liked" not in grpc_wire.one("first").attributes
    assert grpc_wire.receiver.spans_named(fb.FEEDBACK_SPAN_NAME) == []
    root = grpc_wire.processor.root_of(TRACE_ID)
    assert root is not None
    assert root.end_time is not None
    assert f"{root.span_id:016x}" == grpc_wire.one("second").span_id


# -- documented boundaries -----------------------------------------------------------------


def test_name_of_256_characters_is_kept_and_257_truncated(grpc_wire: Wire) -> None:
    assert MAX_NAME_LENGTH == 256
    exact, over = "n" * 256, "m" * 257
    with grpc_wire.tracer.start_as_current_span("host"):
        assert fb.log_feedback(exact, 1) is not None
        assert fb.diagnostics() == {}
        assert fb.log_feedback(over, 2) is not None
        assert fb.diagnostics() == {"invalid_name": 1}
        with pytest.raises(fb.InvalidFeedbackError, match="256"):
            fb.log_feedback(over, 2, strict=True)
    host = grpc_wire.one("host")
    assert host.attributes[f"feedback.{exact}"] == 1
    assert host.attributes[f"feedback.{'m' * 256}"] == 2
    names = [event.attributes["gen_ai.evaluation.name"] for event in host.events]
    assert names == [exact, "m" * 256]


def test_reason_of_65536_characters_is_kept_and_65537_truncated(grpc_wire: Wire) -> None:
    assert MAX_TEXT_LENGTH == 65_536
    with grpc_wire.tracer.start_as_current_span("host"):
        fb.log_feedback("exact", 1, reason="r" * 65_536)
        assert fb.diagnostics() == {}
        fb.log_feedback("over", 1, reason="s" * 65_537)
        assert fb.diagnostics() == {"truncated_text": 1}
    explanations = [
        event.attributes["gen_ai.evaluation.explanation"] for event in grpc_wire.one("host").events
    ]
    assert explanations == ["r" * 65_536, "s" * 65_536]


def test_token_identity_of_1024_bytes_is_kept_and_1025_omitted() -> None:
    exact, over = "é" * 512, "x" + "é" * 512  # 1,024 and 1,025 UTF-8 bytes
    for field in ("session_id", "user_id"):
        signed = FeedbackToken(1, 2, 3, **{field: exact}).encode("k")
        kept = fb.parse_feedback_token(signed, secret="k")
        assert getattr(kept, field) == exact
        assert fb.diagnostics() == {}
        omitted = fb.parse_feedback_token(FeedbackToken(1, 2, 3, **{field: over}).encode())
        assert getattr(omitted, field) is None
        assert fb.diagnostics() == {"token_identity_omitted": 1}
        fb.reset_diagnostics()


def test_a_token_with_two_long_identities_stays_parseable() -> None:
    """Both ids of 1,024 bytes would make a token longer than parse_feedback_token takes."""
    token = FeedbackToken(1, 2, 3, root_span_id=4, session_id="s" * 1024, user_id="u" * 1024)
    text = token.encode("secret")
    assert len(text) <= MAX_TOKEN_CHARS
    parsed = fb.parse_feedback_token(text, secret="secret")
    assert (parsed.session_id, parsed.user_id) == ("s" * 1024, None)
    assert fb.diagnostics() == {"token_identity_omitted": 1}


def test_current_feedback_token_carries_a_1024_character_session(grpc_wire: Wire) -> None:
    with fb.using_session("s" * 1024), grpc_wire.tracer.start_as_current_span("host"):
        token = fb.current_feedback_token()
    assert token is not None
    assert fb.parse_feedback_token(token).session_id == "s" * 1024
    assert fb.diagnostics() == {}


# -- the public fallback write on a full span ------------------------------------------------


@pytest.mark.parametrize("fast", [False, True], ids=["fallback", "direct"])
def test_resetting_a_key_on_a_full_span_updates_it(wires: WireFactory, fast: bool) -> None:
    wire = wires("grpc", limits=SpanLimits(max_span_attributes=4))
    span = wire.tracer.start_span("full", attributes={"app.a": 1, "app.b": 2})
    assert isinstance(span, Span)
    assert _sdk.write(span, {"feedback.x": 1, "feedback.y": 2}, fast=fast) == {}
    overflow = _sdk.write(span, {"feedback.x": 10, "feedback.new": 3}, fast=fast)
    assert overflow == {"feedback.new": 3}
    span.end()
    full = wire.one("full")
    assert full.attributes == {"app.a": 1, "app.b": 2, "feedback.y": 2, "feedback.x": 10}
    assert full.dropped_attributes_count == 0


def test_enrich_span_resets_a_key_on_a_full_span_without_spilling(wires: WireFactory) -> None:
    wire = wires("grpc", limits=SpanLimits(max_span_attributes=3))
    with wire.tracer.start_as_current_span("full", attributes={"app.a": 1}):
        fb.enrich_span(feedback={"x": 1, "y": 2})
        fb.enrich_span(feedback={"x": 5})
    assert wire.one("full").attributes == {"app.a": 1, "feedback.y": 2, "feedback.x": 5}
    assert wire.receiver.spans_named(fb.FEEDBACK_SPAN_NAME) == []
    assert fb.diagnostics() == {}


# -- writes racing end() ---------------------------------------------------------------------


class EndSnapshots(SpanProcessor):
    """What each span held at the moment it ended (on_end runs right after the end)."""

    def __init__(self) -> None:
        self.at_end: dict[int, tuple[dict[str, Any], list[str]]] = {}

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        assert context is not None
        self.at_end[context.span_id] = (
            dict(span.attributes or {}),
            [str((event.attributes or {}).get("writer")) for event in span.events],
        )


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads as often as possible, so a missing lock shows."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


@pytest.mark.usefixtures("fast_switching")
def test_writes_racing_end_land_whole_or_not_at_all() -> None:
    """Four writers hammer each span while it ends: every write that reports success is
    wholly on the span as it ended, every other write left nothing there, and nothing raised.
    A value length limit forces the per-key write loop, the widest window for a race."""
    limits = SpanLimits(max_attribute_length=64, max_span_attributes=10_000, max_events=10_000)
    provider = TracerProvider(span_limits=limits)
    snapshots = EndSnapshots()
    provider.add_span_processor(snapshots)
    tracer = provider.get_tracer("race")
    keys_per_write = 20
    rounds = 25
    errors: list[BaseException] = []
    outcomes: list[tuple[int, str, dict[str, Any] | None]] = []
    lock = threading.Lock()

    def writer(span: Span, name: str, running: threading.Semaphore) -> None:
        try:
            for attempt in range(60):
                label = f"{name}-{attempt}"
                attributes = {f"feedback.{label}.{k}": k for k in range(keys_per_write)}
                result = _sdk.write(span, attributes, ("e", {"writer": label}))
                with lock:
                    outcomes.append((span.get_span_context().span_id, label, result))
                if attempt == 1:
                    running.release()
                if result is None:
                    return
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
            running.release()

    for round_ in range(rounds):
        span = tracer.start_span(f"race-{round_}")
        assert isinstance(span, Span)
        running = threading.Semaphore(0)
        threads = [
            threading.Thread(target=writer, args=(span, f"w{index}", running))
            for index in range(4)
        ]
        for thread in threads:
            thread.start()
        for _ in threads:  # end while every writer is in full flow
            running.acquire()
        span.end()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(snapshots.at_end) == rounds
    assert any(overflow is None for _, _, overflow in outcomes)  # some writes met the end
    for span_id, label, overflow in outcomes:
        attributes, events = snapshots.at_end[span_id]
        present = {key for key in attributes if key.startswith(f"feedback.{label}.")}
        if overflow is None:  # refused: the span had ended
            assert present == set(), label
            assert label not in events
        else:  # written, except what did not fit under the attribute limit
            expected = {f"feedback.{label}.{k}" for k in range(keys_per_write)} - set(overflow)
            assert present == expected, label
            assert label in events
