"""The shared runtime of the compat modules: setup on first use, calls that are programming
errors, and spans that never break the application."""

from __future__ import annotations

import pytest
from helpers_wire import Wire
from opentelemetry import trace

import otel_feedback as fb
import otel_feedback.compat.mlflow as mlflow  # noqa: PLR0402 - the documented form
from otel_feedback.compat import _runtime, _spans
from otel_feedback.compat.honeyhive import enrich_span
from otel_feedback.compat.opik import Opik, opik_context, track
from otel_feedback.testing import OTLPReceiver


def test_first_use_sets_up_a_provider_from_otel_variables(
    otlp_receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.grpc_endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)

    @track
    def first() -> str:
        return "x"

    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider), (
        "decorating sets nothing up: only the first call does"
    )
    first()
    provider = trace.get_tracer_provider()
    assert not isinstance(provider, trace.ProxyTracerProvider)
    assert _runtime.ensure_provider() is provider, "set up once"
    assert _runtime.flush() is True
    [span] = otlp_receiver.wait_for_spans(1)
    assert span.name == "first"
    assert span.resource_attributes["service.name"] == "from-env"


def test_an_application_provider_is_used_as_it_is(global_wire: Wire) -> None:
    assert _runtime.ensure_provider() is global_wire.provider
    assert not _runtime._configured


def test_misspelled_keywords_are_type_errors_in_every_mode(global_wire: Wire) -> None:
    with pytest.raises(TypeError):
        mlflow.log_feedback(trace_id="tr-" + "1" * 32, name="x", value=1, rationalle="typo")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        track(nmae="typo")  # type: ignore[call-arg]

    @track
    def step() -> None:
        span = opik_context.get_current_span()
        assert span is not None
        span.log_feedback_score("x", 1, reasn="typo")  # type: ignore[call-arg]

    with pytest.raises(TypeError):
        step()
    with pytest.raises(TypeError):
        Opik().log_traces_feedback_scores([], project="typo")  # type: ignore[call-arg]


def test_a_failing_span_start_leaves_the_call_untraced(
    global_wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_tracer(sdk: str) -> trace.Tracer:
        raise RuntimeError("tracer unavailable")

    monkeypatch.setattr("otel_feedback.compat.opik._track.tracer", broken_tracer)

    @track
    def still_works(x: int) -> int:
        return x + 1

    assert still_works(1) == 2
    assert fb.diagnostics()["internal_error"] == 1


def test_enrich_span_outside_a_span_raises_only_in_strict_mode(strict: None) -> None:
    with pytest.raises(fb.InvalidTargetError):
        enrich_span(metadata={"a": 1})


def test_to_text_falls_back_for_values_json_cannot_hold() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque"

    assert _spans.to_text("plain") == ("plain", "text/plain")
    assert _spans.to_text({"a": Opaque(), "b": {1, 2}}) == (
        '{"a": "opaque", "b": [1, 2]}',
        "application/json",
    )
    cyclic: list[object] = []
    cyclic.append(cyclic)
    text, mime = _spans.to_text(cyclic)
    assert mime == "text/plain"
    assert text == "[[...]]"
