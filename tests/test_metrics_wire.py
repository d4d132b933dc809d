"""Feedback metrics over OTLP (gRPC and HTTP/protobuf) to the in-process receiver."""

from __future__ import annotations

import pytest
from helpers_metrics import bucket_counts
from helpers_wire import PROTOCOLS, Proto, run_python
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpMetricExporter,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider

import otel_feedback as fb
from otel_feedback.conventions import METRIC_SCORE_BOUNDARIES
from otel_feedback.metrics import FeedbackMetrics
from otel_feedback.testing import OTLPReceiver, ReceivedMetricPoint

CUMULATIVE = 2
RATINGS = [1, 2, 2, 3, 4, 4, 4, 5, 5, 0.5]


def metric_exporter(receiver: OTLPReceiver, protocol: Proto) -> MetricExporter:
    if protocol == "grpc":
        return GrpcMetricExporter(endpoint=receiver.grpc_endpoint, insecure=True, timeout=10)
    return HttpMetricExporter(endpoint=receiver.http_metrics_endpoint, timeout=10)


def named(points: list[ReceivedMetricPoint], name: str) -> list[ReceivedMetricPoint]:
    return [point for point in points if point.name == name]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_instruments_arrive_over_otlp(otlp_receiver: OTLPReceiver, protocol: Proto) -> None:
    reader = PeriodicExportingMetricReader(
        metric_exporter(otlp_receiver, protocol), export_interval_millis=3_600_000
    )
    meter_provider = MeterProvider(metric_readers=[reader])
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(fb.FeedbackSpanProcessor(tracer_provider=tracer_provider))
    metrics = FeedbackMetrics(meter_provider)
    tracer_provider.add_span_processor(metrics.span_processor)
    try:
        tracer = tracer_provider.get_tracer("app")
        for stars in RATINGS:
            with tracer.start_as_current_span("chat") as span:
                span.set_attribute("gen_ai.request.model", "m1")
                fb.log_feedback("user_rating", stars, strict=True)
        with tracer.start_as_current_span("chat"):
            fb.log_feedback("comment", "a free text comment", strict=True)
    finally:
        metrics.close()
        tracer_provider.shutdown()
        meter_provider.shutdown()  # one last export, the only one within the hour
    points = otlp_receiver.wait_for_metrics(2)
    attributes = {
        "gen_ai.evaluation.name": "user_rating",
        "feedback.source.type": "HUMAN",
        "feedback.kind": "explicit",
        "gen_ai.request.model": "m1",
    }
    (score,) = named(points, "feedback.score")
    assert (score.kind, score.unit, score.scope_name) == ("histogram", "1", "otel_feedback")
    assert score.attributes == attributes
    assert (score.count, score.sum, score.min, score.max) == (len(RATINGS), sum(RATINGS), 0.5, 5)
    assert score.explicit_bounds == METRIC_SCORE_BOUNDARIES
    assert list(score.bucket_counts) == bucket_counts(RATINGS)
    assert score.temporality == CUMULATIVE
    records = {
        point.attributes["gen_ai.evaluation.name"]: point
        for point in named(points, "feedback.records")
    }
    assert records["user_rating"].value == len(RATINGS)
    assert records["comment"].value == 1
    assert "a free text comment" not in records["comment"].attributes.values()
    assert (records["comment"].kind, records["comment"].unit) == ("sum", "{record}")
    assert otlp_receiver.export_count(protocol, signal="metrics") >= 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_configure_metrics_true_exports_from_the_environment(
    otlp_receiver: OTLPReceiver, protocol: Proto
) -> None:
    """``configure(metrics=True)`` builds the OTLP metric pipeline from ``OTEL_*`` alone and
    exports what was recorded when the process exits."""
    endpoint = otlp_receiver.grpc_endpoint if protocol == "grpc" else otlp_receiver.http_endpoint
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc" if protocol == "grpc" else "http/protobuf",
        "OTEL_SERVICE_NAME": "chat-service",
    }
    run_python(
        """
        import json
        import otel_feedback as fb
        provider = fb.configure(metrics=True)
        tracer = provider.get_tracer("app")
        with tracer.start_as_current_span("chat") as span:
            span.set_attribute("gen_ai.request.model", "m9")
            token = fb.current_feedback_token()
        fb.log_feedback("thumbs_up", True, target=token, strict=True)
        fb.log_feedback("thumbs_up", False, target=token, strict=True)
        print(json.dumps(fb.diagnostics()))
        """,
        env,
    )
    points = otlp_receiver.wait_for_metrics(
        2, predicate=lambda point: point.name == "feedback.score"
    )
    by_label = {point.attributes["gen_ai.evaluation.score.label"]: point for point in points}
    assert set(by_label) == {"true", "false"}
    assert (by_label["true"].count, by_label["true"].sum) == (1, 1.0)
    assert (by_label["false"].count, by_label["false"].sum) == (1, 0.0)
    assert all(point.attributes["gen_ai.request.model"] == "m9" for point in points)
    assert all(point.resource_attributes["service.name"] == "chat-service" for point in points)
    assert all(point.protocol == protocol for point in points)
    # the late feedback spans went to the same collector
    assert len(otlp_receiver.wait_for_spans(3)) == 3
