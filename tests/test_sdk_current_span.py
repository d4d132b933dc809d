"""``_sdk``'s getters answer what ``trace.get_current_span()`` and ``get_current()`` answer."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import propagation as trace_propagation

from otel_feedback import _sdk


class NotASpan:
    """An object stored under the span key that is no span."""


def _stored(value: Any) -> object:
    """Attach a context holding ``value`` under the API's span key; returns the token."""
    key = trace_propagation._SPAN_KEY
    return otel_context.attach(otel_context.set_value(key, value))


def test_getter_reads_the_span_from_the_context() -> None:
    assert _sdk.current_span_getter() is not trace.get_current_span


@pytest.mark.parametrize("stored", ["sdk", "non_recording", "none", "not_a_span", "nothing"])
def test_getter_equals_get_current_span(stored: str) -> None:
    getter = _sdk.current_span_getter()
    tracer = TracerProvider().get_tracer("test")
    span: Any = tracer.start_span("s")
    values = {
        "sdk": span,
        "non_recording": trace.NonRecordingSpan(span.get_span_context()),
        "none": None,
        "not_a_span": NotASpan(),
    }
    token = _stored(values[stored]) if stored in values else None
    try:
        for _ in range(2):  # the second time through the remembered span class
            assert getter() is trace.get_current_span()
    finally:
        if token is not None:
            otel_context.detach(token)
        span.end()
    assert getter() is trace.get_current_span() is trace.INVALID_SPAN


def test_getter_falls_back_when_the_key_is_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(trace_propagation, "_SPAN_KEY")
    assert _sdk.current_span_getter() is trace.get_current_span


def test_context_getter_equals_get_current() -> None:
    getter = _sdk.current_context_getter()
    assert getter is not otel_context.get_current, "the context variable's own get"
    assert getter() is otel_context.get_current()
    token = otel_context.attach(otel_context.set_value("k", 1))
    try:
        assert getter() is otel_context.get_current()
        assert getter().get("k") == 1
    finally:
        otel_context.detach(token)
    assert getter() is otel_context.get_current()


def test_context_getter_falls_back_for_another_runtime_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(otel_context, "_RUNTIME_CONTEXT", object())
    assert _sdk.current_context_getter() is otel_context.get_current
