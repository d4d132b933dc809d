"""``configure()`` from the standard OTEL_* variables, proven on the wire."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers_wire import assert_late_feedback_span, hex_ids, only_event
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

import otel_feedback
import otel_feedback as fb
from otel_feedback.processor import active_processors
from otel_feedback.testing import OTLPReceiver

ENV_PREFIXES = ("OTEL_EXPORTER_OTLP", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_B")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os  # noqa: PLC0415

    for key in list(os.environ):
        if key.startswith(ENV_PREFIXES):
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.fixture
def providers() -> Iterator[list[TracerProvider]]:
    built: list[TracerProvider] = []
    yield built
    for provider in built:
        provider.shutdown()


def _chat(provider: TracerProvider) -> tuple[str, str]:
    with fb.using_session("s-env"), provider.get_tracer("t").start_as_current_span("chat") as span:
        fb.enrich_span(feedback={"rating": 5})
    return hex_ids(span)


@pytest.mark.parametrize(
    ("protocol_env", "expected"),
    [(None, "grpc"), ("grpc", "grpc"), ("http/protobuf", "http")],
)
def test_configure_exports_with_env_protocol_and_resource(
    otlp_receiver: OTLPReceiver,
    env: pytest.MonkeyPatch,
    providers: list[TracerProvider],
    protocol_env: str | None,
    expected: str,
) -> None:
    endpoint = otlp_receiver.http_endpoint if expected == "http" else otlp_receiver.grpc_endpoint
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    if protocol_env is not None:
        env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol_env)
    env.setenv("OTEL_SERVICE_NAME", "chat-service")
    env.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test,team=ml")
    provider = fb.configure(set_global=False)
    providers.append(provider)
    trace_id, span_id = _chat(provider)
    fb.log_feedback("late", 1, trace_id=trace_id, span_id=span_id)
    provider.shutdown()  # flushes the BatchSpanProcessor configure() installed
    chat = otlp_receiver.span_by_name("chat")
    assert chat.protocol == expected
    assert otlp_receiver.export_count(expected, signal="traces") >= 1
    assert chat.resource_attributes["service.name"] == "chat-service"
    assert chat.resource_attributes["deployment.environment"] == "test"
    assert chat.resource_attributes["team"] == "ml"
    assert chat.attributes["session.id"] == "s-env"
    assert chat.attributes["feedback.rating"] == 5
    late = otlp_receiver.span_by_name("feedback")
    assert_late_feedback_span(late, chat)
    assert late.resource_attributes["service.name"] == "chat-service"
    assert only_event(late).attributes["gen_ai.evaluation.name"] == "late"
    assert not active_processors(), "shutdown unregisters configure()'s processor"


def test_traces_protocol_variable_wins(
    otlp_receiver: OTLPReceiver, env: pytest.MonkeyPatch, providers: list[TracerProvider]
) -> None:
    env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    env.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
    env.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", otlp_receiver.http_traces_endpoint)
    provider = fb.configure(set_global=False, service_name="explicit")
    providers.append(provider)
    _chat(provider)
    provider.shutdown()
    chat = otlp_receiver.span_by_name("chat")
    assert chat.protocol == "http"
    assert chat.resource_attributes["service.name"] == "explicit"


def test_service_name_argument_beats_env(
    otlp_receiver: OTLPReceiver, env: pytest.MonkeyPatch, providers: list[TracerProvider]
) -> None:
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.grpc_endpoint)
    env.setenv("OTEL_SERVICE_NAME", "from-env")
    provider = fb.configure(set_global=False, service_name="from-arg")
    providers.append(provider)
    _chat(provider)
    provider.shutdown()
    assert otlp_receiver.span_by_name("chat").resource_attributes["service.name"] == "from-arg"


def test_http_json_falls_back_to_protobuf_and_says_so(
    env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter as HttpSpanExporter,
    )

    env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    exporter = fb.otlp_span_exporter()
    assert isinstance(exporter, HttpSpanExporter)
    assert fb.diagnostics() == {"invalid_configuration": 1}
    assert "set OTEL_EXPORTER_OTLP_PROTOCOL to grpc or http/protobuf" in caplog.text
    exporter.shutdown()


def test_unsupported_protocol_raises_in_strict_mode(env: pytest.MonkeyPatch) -> None:
    env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
    env.setenv(fb.STRICT_ENV, "true")
    otel_feedback.reload_settings()
    with pytest.raises(fb.NotConfiguredError, match="grpc or http/protobuf"):
        fb.otlp_span_exporter()


def test_configure_log_records_flushed_on_provider_shutdown(
    otlp_receiver: OTLPReceiver, env: pytest.MonkeyPatch, providers: list[TracerProvider]
) -> None:
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.grpc_endpoint)
    env.setenv("OTEL_BLRP_SCHEDULE_DELAY", "600000")  # only a flush can deliver them
    provider = fb.configure(set_global=False, emit_log_records=True)
    providers.append(provider)
    with provider.get_tracer("t").start_as_current_span("chat") as span:
        fb.log_feedback("rating", 3)
    provider.shutdown()
    [record] = otlp_receiver.logs_by_event_name("gen_ai.evaluation.result")
    assert (record.trace_id, record.span_id) == hex_ids(span)
    assert record.attributes["feedback.rating"] == 3


def test_configure_provider_force_flush(
    otlp_receiver: OTLPReceiver, env: pytest.MonkeyPatch, providers: list[TracerProvider]
) -> None:
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.grpc_endpoint)
    env.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")  # only a flush can deliver the span
    provider = fb.configure(set_global=False)
    providers.append(provider)
    _chat(provider)
    assert provider.force_flush(10_000) is True
    assert otlp_receiver.span_by_name("chat").attributes["feedback.rating"] == 5


def test_extra_span_processors_run_before_the_exporter_and_flush_first(
    otlp_receiver: OTLPReceiver, env: pytest.MonkeyPatch
) -> None:
    """A processor that records late feedback when a span ends (as online scoring does)
    gets it exported at shutdown: configure() adds it before the exporter."""
    env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.grpc_endpoint)
    env.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")  # only shutdown's flush delivers spans

    class ScoreOnShutdown(SpanProcessor):
        def __init__(self) -> None:
            self.ended: list[ReadableSpan] = []
            self.provider: TracerProvider | None = None

        def on_end(self, span: ReadableSpan) -> None:
            if span.name != "feedback":
                self.ended.append(span)

        def shutdown(self) -> None:
            for span in list(self.ended):
                context = span.get_span_context()
                fb.log_feedback(
                    "scored", 1.0, source="CODE", target=context, tracer_provider=self.provider
                )

    scorer = ScoreOnShutdown()
    provider = fb.configure(set_global=False, span_processors=[scorer])
    scorer.provider = provider
    _chat(provider)
    provider.shutdown()
    late = otlp_receiver.spans_named("feedback")
    assert [span.attributes["feedback.scored"] for span in late] == [1.0]
