"""Identity from W3C baggage (docs/DESIGN.md §14): opt-in, explicit using_session wins, values
validated and bounded; and the helpers that put identity into baggage on the calling side."""

from __future__ import annotations

import pytest
from helpers_wire import Wire
from opentelemetry import baggage, context, propagate

import otel_feedback as fb


@pytest.fixture
def opted_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_FEEDBACK_IDENTITY_FROM_BAGGAGE", "true")
    fb.reload_settings()


def _with_baggage(**entries: str) -> object:
    ctx = context.get_current()
    for key, value in entries.items():
        ctx = baggage.set_baggage(key.replace("_", "."), value, ctx)
    return context.attach(ctx)


def _start(wire: Wire, name: str, **entries: str) -> None:
    token = _with_baggage(**entries)
    try:
        with wire.tracer.start_as_current_span(name):
            pass
    finally:
        context.detach(token)  # type: ignore[arg-type]


def test_baggage_is_ignored_by_default(grpc_wire: Wire) -> None:
    _start(grpc_wire, "plain", session_id="s-1", user_id="u-1")
    span = grpc_wire.one("plain")
    assert "session.id" not in span.attributes
    assert "user.id" not in span.attributes


@pytest.mark.usefixtures("opted_in")
def test_baggage_identity_when_opted_in(grpc_wire: Wire) -> None:
    _start(grpc_wire, "from-baggage", session_id="s-1", user_id="u-1")
    span = grpc_wire.one("from-baggage")
    assert span.attributes["session.id"] == "s-1"
    assert span.attributes["user.id"] == "u-1"


@pytest.mark.usefixtures("opted_in")
def test_explicit_using_session_wins_over_baggage(grpc_wire: Wire) -> None:
    token = _with_baggage(session_id="from-client", user_id="client-user")
    try:
        with fb.using_session("from-code"), grpc_wire.tracer.start_as_current_span("both"):
            pass
    finally:
        context.detach(token)  # type: ignore[arg-type]
    span = grpc_wire.one("both")
    assert span.attributes["session.id"] == "from-code"
    assert span.attributes["user.id"] == "client-user"  # not set in code: baggage fills it


@pytest.mark.usefixtures("opted_in")
def test_oversized_or_unprintable_baggage_is_refused_and_counted(grpc_wire: Wire) -> None:
    _start(grpc_wire, "hostile", session_id="x" * 5000, user_id="line\nbreak")
    span = grpc_wire.one("hostile")
    assert "session.id" not in span.attributes
    assert "user.id" not in span.attributes
    assert fb.diagnostics() == {"invalid_identity": 2}


def test_using_session_propagate_puts_identity_into_outgoing_baggage() -> None:
    headers: dict[str, str] = {}
    with fb.using_session("s-9", user_id="u-9", propagate=True):
        propagate.inject(headers)
    assert "session.id=s-9" in headers["baggage"]
    assert "user.id=u-9" in headers["baggage"]
    plain: dict[str, str] = {}
    with fb.using_session("s-9"):
        propagate.inject(plain)
    assert "baggage" not in plain


def test_identity_baggage_builds_a_context_to_inject() -> None:
    headers: dict[str, str] = {}
    propagate.inject(headers, context=fb.identity_baggage("s-2", "u-2"))
    assert "session.id=s-2" in headers["baggage"]
    assert "user.id=u-2" in headers["baggage"]
    assert baggage.get_all(fb.identity_baggage()) == baggage.get_all()
