"""``using_session`` / ``using_user``: context managers and decorators, sync and async, and
OpenInference's context keys — proven by ``session.id`` / ``user.id`` on exported spans."""

from __future__ import annotations

import asyncio

from helpers_wire import Wire
from opentelemetry import context as otel_context

import otel_feedback as fb


def identity(wire: Wire, name: str) -> tuple[object, object]:
    attributes = wire.one(name).attributes
    return attributes.get("session.id"), attributes.get("user.id")


def test_context_managers_nest_and_restore(wire: Wire) -> None:
    tracer = wire.tracer
    with fb.using_session("s-1"):
        with tracer.start_as_current_span("session-only"):
            assert fb.current_session_id() == "s-1"
            assert fb.current_user_id() is None
        with fb.using_user("u-1"), tracer.start_as_current_span("both"):
            assert fb.current_user_id() == "u-1"
        with fb.using_session("s-2", user_id="u-2"), tracer.start_as_current_span("inner"):
            pass
        with tracer.start_as_current_span("restored"):
            pass
    with tracer.start_as_current_span("outside"):
        assert fb.current_session_id() is None
    assert identity(wire, "session-only") == ("s-1", None)
    assert identity(wire, "both") == ("s-1", "u-1")
    assert identity(wire, "inner") == ("s-2", "u-2")
    assert identity(wire, "restored") == ("s-1", None)
    assert identity(wire, "outside") == (None, None)


def test_identity_reaches_every_span_of_the_trace(grpc_wire: Wire) -> None:
    tracer = grpc_wire.tracer
    with (
        fb.using_session("s-tree", user_id="u-tree"),
        tracer.start_as_current_span("root"),
        tracer.start_as_current_span("child"),
        tracer.start_as_current_span("leaf"),
    ):
        pass
    spans = grpc_wire.wait(3)
    assert {
        (span.name, span.attributes["session.id"], span.attributes["user.id"]) for span in spans
    } == {
        ("root", "s-tree", "u-tree"),
        ("child", "s-tree", "u-tree"),
        ("leaf", "s-tree", "u-tree"),
    }


def test_sync_decorators(grpc_wire: Wire) -> None:
    tracer = grpc_wire.tracer

    @fb.using_session("s-dec", user_id="u-dec")
    def handle(name: str) -> str:
        with tracer.start_as_current_span(name):
            return str(fb.current_session_id())

    @fb.using_user("u-only")
    def user_only() -> None:
        with tracer.start_as_current_span("user-only"):
            pass

    assert handle("first") == "s-dec"
    assert handle("second") == "s-dec"
    assert handle.__name__ == "handle"
    user_only()
    assert fb.current_session_id() is None
    assert identity(grpc_wire, "first") == ("s-dec", "u-dec")
    assert identity(grpc_wire, "second") == ("s-dec", "u-dec")
    assert identity(grpc_wire, "user-only") == (None, "u-only")


def test_async_context_managers_and_decorators(grpc_wire: Wire) -> None:
    tracer = grpc_wire.tracer

    @fb.using_session("s-async-dec")
    async def decorated(name: str) -> None:
        await asyncio.sleep(0)
        with tracer.start_as_current_span(name):
            await asyncio.sleep(0)

    async def managed(index: int) -> None:
        async with fb.using_session(f"s-async-{index}", user_id=f"u-async-{index}"):
            await asyncio.sleep(0)
            with tracer.start_as_current_span(f"managed-{index}"):
                await asyncio.sleep(0)

    @fb.using_user("u-async-dec")
    async def user_decorated() -> None:
        with tracer.start_as_current_span("user-async"):
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(decorated("decorated"), *(managed(i) for i in range(5)))
        await user_decorated()

    assert asyncio.iscoroutinefunction(decorated)
    asyncio.run(main())
    assert identity(grpc_wire, "decorated") == ("s-async-dec", None)
    for index in range(5):
        assert identity(grpc_wire, f"managed-{index}") == (f"s-async-{index}", f"u-async-{index}")
    assert identity(grpc_wire, "user-async") == (None, "u-async-dec")


def test_openinference_context_keys_are_picked_up(grpc_wire: Wire) -> None:
    ctx = otel_context.set_value("session.id", "oi-session")
    ctx = otel_context.set_value("user.id", "oi-user", ctx)
    token = otel_context.attach(ctx)
    try:
        assert fb.current_session_id() == "oi-session"
        assert fb.current_user_id() == "oi-user"
        with grpc_wire.tracer.start_as_current_span("oi"):
            feedback_token = fb.current_feedback_token()
        # ours wins over OpenInference's when both are set
        with fb.using_session("ours"), grpc_wire.tracer.start_as_current_span("both"):
            pass
    finally:
        otel_context.detach(token)
    assert identity(grpc_wire, "oi") == ("oi-session", "oi-user")
    assert identity(grpc_wire, "both") == ("ours", "oi-user")
    assert feedback_token is not None
    parsed = fb.parse_feedback_token(feedback_token)
    assert (parsed.session_id, parsed.user_id) == ("oi-session", "oi-user")


def test_feedback_span_takes_identity_from_the_token(grpc_wire: Wire) -> None:
    with (
        fb.using_session("s-tok", user_id="u-tok"),
        grpc_wire.tracer.start_as_current_span("chat"),
    ):
        token = fb.current_feedback_token()
    with fb.using_session("other-session"):  # the token's identity is the rated span's
        fb.log_feedback("rating", 1, target=token)
    late = grpc_wire.one("feedback")
    assert late.attributes["session.id"] == "s-tok"
    assert late.attributes["user.id"] == "u-tok"


def test_empty_identity_is_ignored_and_counted(grpc_wire: Wire, clean_diagnostics: None) -> None:
    with fb.using_session(""), grpc_wire.tracer.start_as_current_span("empty"):
        pass
    assert identity(grpc_wire, "empty") == (None, None)
    assert fb.diagnostics().get("invalid_identity") == 1
